"""Would other knots, more pairs or no one-standard-error rule buy more? Selected terms alone.

For each fit size and seed, the front of selected terms (``term_front``, no judge, no prior) is
built on the fit rows with the library's settings changed one at a time, and the function the
one-standard-error rule chooses (``1se``) and the front's best point (``best``) are scored on
the held-out rows:

- ``base``: the settings in ``fitting/terms.py``;
- ``pair_knots5``: products of hinges bend at five quantiles, not three (100 terms a pair);
- ``main_knots10``: each attribute's hinges at ten quantiles (5% to 95%), not five;
- ``pairs32``: the 32 pairs FAST ranks first (those above chance), not 16.

    .venv/bin/python benchmarks/front_variants.py --dataset wine_quality --sizes 1000,all
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from rewardsmith.data import load_dataset, make_task
from rewardsmith.fitting import terms
from rewardsmith.fitting.cv import duplicate_groups
from rewardsmith.metrics.spearman import spearman

BASE = {"PAIR_KNOT_QUANTILES": terms.PAIR_KNOT_QUANTILES,
        "KNOT_QUANTILES": terms.KNOT_QUANTILES, "MAX_PAIRS": terms.MAX_PAIRS}
VARIANTS = {
    "base": {},
    "pair_knots5": {"PAIR_KNOT_QUANTILES": (0.1, 0.25, 0.5, 0.75, 0.9)},
    "main_knots10": {"KNOT_QUANTILES": tuple(np.round(np.linspace(0.05, 0.95, 10), 3))},
    "pairs32": {"MAX_PAIRS": 32},
}


def run_cell(task, variant: str, seed: int) -> dict:
    for name, value in {**BASE, **VARIANTS[variant]}.items():
        setattr(terms, name, value)  # the module reads these at call time
    X, y = task.fit_rows.X, task.fit_rows.y
    started = time.perf_counter()
    front = terms.term_front(X, y, groups=duplicate_groups(X), seed=seed, pairs=terms.MAX_PAIRS)
    cell = {"variant": variant, "seconds": round(time.perf_counter() - started, 1)}
    for rule, size in (("1se", front.size()), ("best", int(np.argmax(front.cv_rho)) + 1)):
        chosen = front.terms[:size]
        fit = terms.fit_terms(X, y, chosen)
        predicted = fit.predict(terms.term_matrix(chosen, task.heldout_rows.X))
        cell[rule] = {"rho": spearman(predicted, task.heldout_rows.y), "terms": size}
    return cell


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="wine_quality")
    p.add_argument("--sizes", default="1000,all")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--out", default="benchmarks/results-front/variants.jsonl")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    ds = load_dataset(args.dataset)
    cells = []
    out = Path(args.out)
    with out.open("w") as handle:
        for size in [None if s == "all" else int(s) for s in args.sizes.split(",")]:
            for seed in [int(s) for s in args.seeds.split(",")]:
                task = make_task(ds, fit_size=size, seed=seed)
                for variant in VARIANTS:
                    cell = {"dataset": args.dataset, "fit_size": size, "seed": seed,
                            **run_cell(task, variant, seed)}
                    cells.append(cell)
                    handle.write(json.dumps(cell) + "\n")
                    handle.flush()
    print(f"{args.dataset}: mean held-out rho (terms) over seeds {args.seeds}")
    print(f"{'rows':>6}  {'variant':<13}{'1se':>15}{'best':>15}{'seconds':>9}")
    for size in dict.fromkeys(c["fit_size"] for c in cells):
        for variant in VARIANTS:
            mine = [c for c in cells if c["fit_size"] == size and c["variant"] == variant]
            text = [f"{np.mean([c[r]['rho'] for c in mine]):.4f} "
                    f"({np.mean([c[r]['terms'] for c in mine]):4.1f})" for r in ("1se", "best")]
            print(f"{size or 'all':>6}  {variant:<13}{text[0]:>15}{text[1]:>15}"
                  f"{np.mean([c['seconds'] for c in mine]):>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
