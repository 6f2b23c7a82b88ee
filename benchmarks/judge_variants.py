"""How the judge should choose at 10 and 20 rows, replayed on priors the embedded model already
gave (no LM call): corpus validation and train tables, seeds 0-4.

On the unseen suite the compiled prior agrees with the tables' signs more often than the
uncompiled one, yet held-out rho does not follow; at 10 rows the judge often answered with the
prior alone, chosen by cross-validation on 10 rows. This replays each table's recorded priors
through ``Judge`` and compares ways of choosing among its candidates:

- ``current``: ``Judge.winner()`` as shipped;
- ``shrunk``: always the ridge shrunk toward the prior (plain ridge without a prior);
- ``no prior alone``: the current rule without the prior-alone candidate;
- ``margin 0.05``: a rival replaces the shrunk ridge only by a CV margin of 0.05;
- ``flat importance``: the current rule on the prior with every stated importance set to 2;
- ``ridge``: plain ridge, for reference;
- ``blend``: no choice at all: the mean of the prior alone and the shrunk ridge, each scaled to
  unit spread on the fit rows (a linear function again, so as readable as either);
- ``blend all``: the same over every candidate (the prior alone, ridge, shrunk ridge and the
  neighbours' vote where there is one).

Priors: on validation tables the compiled default (``examples+evidence`` mixed with the
neighbours' vote, and the vote as a rival, as ``RewardProgram`` does) and the uncompiled one; on
validation and train tables ``questions`` mixed with the vote (the only train records). Records
come from ``benchmarks/prior_variants.py``. The unseen tables are not read here: a rule chosen
on them would prove nothing there.

    .venv/bin/python benchmarks/judge_variants.py
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from rewardsmith.corpus import catalog, tables
from rewardsmith.corpus.library import combined_prior, prior_scores
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.fitting import AttributePrior, Prior
from rewardsmith.judge import Judge
from rewardsmith.metrics.spearman import heldout_scores, usable_outputs
from rewardsmith.programs import RewardProgram, compile
from rewardsmith.programs.questions import Answer, prior_from_answers

SOURCES = {
    "validation compiled": ("benchmarks/results-prior-variants", "examples+evidence", True),
    "validation uncompiled": ("benchmarks/results-prior-variants", "uncompiled", False),
    "validation questions+vote": ("benchmarks/results-prior-variants", "questions", True),
    "train questions+vote": ("benchmarks/results-prior-variants-train", "questions", True),
}
RULES = ("current", "shrunk", "no prior alone", "margin 0.05", "flat importance", "ridge",
         "blend", "blend all")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,20")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--out", default="benchmarks/results-judge-variants")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    library = compile(RewardProgram(rounds=0),
                      make_tasks([t.key for t in tables("train")], fit_sizes=[20]),
                      optimizer="retrieval", verbose=False).library_
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for source, (folder, variant, mixed) in SOURCES.items():
        records = [json.loads(line) for line in
                   (Path(folder) / "records.jsonl").read_text().splitlines()]
        for record in (r for r in records if r["variant"] == variant):
            if record["table"] not in catalog():  # a table that has left the catalog since
                continue
            prior, scores = recorded_prior(record)
            if prior is None:
                continue
            dataset = load_dataset(record["table"])
            alternatives = {}
            if mixed:
                card = dataset.card_entry()
                vote = library.attributes.vote_scores(card, exclude_table=record["table"])
                voted = library.attributes.prior_from_vote(vote)
                prior = combined_prior(scores, vote, 1.0, origin="mixed",
                                       shapes={a: e.shape for a, e in prior.attributes.items()})
                if voted is not None:
                    alternatives["retrieved"] = voted
            for size in sizes:
                for seed in seeds:
                    task = make_task(dataset, fit_size=size, seed=seed)
                    rhos = replay(task, prior, alternatives, seed)
                    rows.append({"source": source, "table": record["table"], "size": size,
                                 "seed": seed, **rhos})
        print(f"{source}: {len({r['table'] for r in rows if r['source'] == source})} tables",
              flush=True)
    (out / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summarize(rows, sizes)


def recorded_prior(record: dict):
    """(prior, per-attribute scores) of a record: the questions' log-odds scores, or the JSON
    prior's direction x importance / 3, as ``RewardProgram`` mixes them with the vote."""
    if "odds" in record:
        answers = [Answer(a, h, low) for a, (h, low) in record["odds"].items()]
        return prior_from_answers(answers), {a.attribute: a.score for a in answers}
    prior = Prior.from_dict(record["prior"]) if record.get("prior") else None
    return prior, prior_scores(prior) if prior else {}


def replay(task, prior, alternatives, seed) -> dict:
    judge = Judge(task.fit_rows, prior, seed=seed, alternatives=alternatives)
    by_name = {c.name: c for c in judge.candidates}
    picks = {
        "current": judge.winner(),
        "shrunk": by_name.get("shrunk ridge") or by_name["ridge"],
        "no prior alone": judge.winner(exclude={"prior"}),
        "margin 0.05": judge.winner(margin=0.05),
        "ridge": by_name["ridge"],
    }
    flat = Prior({a: AttributePrior(e.direction, 2 if e.direction != "none" else e.importance,
                                    e.shape) for a, e in prior.attributes.items()},
                 origin=prior.origin)
    picks["flat importance"] = Judge(task.fit_rows, flat, seed=seed,
                                     alternatives=alternatives).winner()
    rhos = {}
    for rule, candidate in picks.items():
        outputs = usable_outputs(candidate.function, task.heldout_rows)
        rhos[rule] = heldout_scores(outputs, task.fit_rows, task.heldout_rows)["rho"]
        rhos[f"{rule} chose"] = candidate.name
    pair = [by_name[n] for n in ("prior", "shrunk ridge") if n in by_name] or [by_name["ridge"]]
    for rule, members in (("blend", pair), ("blend all", judge.candidates)):
        outputs = blended(members, task)
        rhos[rule] = heldout_scores(outputs, task.fit_rows, task.heldout_rows)["rho"]
        rhos[f"{rule} chose"] = "+".join(c.name for c in members)
    return rhos


def blended(candidates, task):
    """The mean of the candidates' held-out outputs, each divided by its spread on the fit
    rows (a candidate that fails on either is left out)."""
    parts = []
    for candidate in candidates:
        fit = usable_outputs(candidate.function, task.fit_rows)
        held = usable_outputs(candidate.function, task.heldout_rows)
        if fit is None or held is None or not np.std(fit) > 0:
            continue
        parts.append(np.asarray(held, dtype=float) / np.std(fit))
    return np.mean(parts, axis=0) if parts else None


def summarize(rows, sizes) -> None:
    rng = np.random.default_rng(0)
    for source in SOURCES:
        for size in sizes:
            cells = [r for r in rows if r["source"] == source and r["size"] == size]
            if not cells:
                continue
            names = sorted({r["table"] for r in cells})
            means = {rule: np.array([np.mean([r[rule] for r in cells if r["table"] == t])
                                     for t in names]) for rule in RULES}
            print(f"\n{source}, {size} rows, {len(names)} tables x "
                  f"{len({r['seed'] for r in cells})} seeds")
            print(f"  {'rule':<16} {'mean rho':>8}   minus current [95% CI]    minus ridge")
            for rule in RULES:
                d_cur = means[rule] - means["current"]
                d_ridge = means[rule] - means["ridge"]
                boot = [d_cur[rng.integers(0, len(names), len(names))].mean()
                        for _ in range(2000)]
                low, high = np.percentile(boot, [2.5, 97.5])
                print(f"  {rule:<16} {means[rule].mean():8.3f}   {d_cur.mean():+.3f} "
                      f"[{low:+.3f}, {high:+.3f}]   {d_ridge.mean():+.3f}")


if __name__ == "__main__":
    main()
