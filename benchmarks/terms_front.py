"""The front of selected terms against the Explainable Boosting Machine, on priors already given.

Replays the priors the embedded model gave in committed benchmark runs (no LM call) through
today's ``Judge`` and scores its answer on the same held-out rows as the committed cells:

- ``builtin``: the ``prior`` cells of ``benchmarks/results/`` (aadb, spaq, wine_quality; seeds
  0-4; fit sizes 10, 20, 100 and all);
- ``unseen``: the ``uncompiled`` cells of ``benchmarks/results-corpus/`` (the 50 unseen corpus
  tables; seeds 0-2 at 100 rows and the seeds run with all rows). ``uncompiled`` because its
  judge had no other prior beside the elicited one, so the replay is the same method.

Each cell records the new rho, the one committed for the same method before (``before``) and the
committed ``ebm``, ``gbm`` and ``ridge`` cells of the same task, with the rho on held-out rows
that repeat no fit row (``unseen_rho``) for both. A cell whose task no longer has the committed
row counts is skipped and counted. The summary gives the means and paired differences with 95%
bootstrap intervals (over seeds for the three built-in tables, as the benchmark's headline; over
tables for the corpus).

    .venv/bin/python benchmarks/terms_front.py --suite builtin
    .venv/bin/python benchmarks/terms_front.py --suite unseen --sizes 100,all
    .venv/bin/python benchmarks/terms_front.py --figures   # wine, all rows, seed 0: the front,
                                                           # two shapes and the function

``--baseline FILE`` compares with the records of the same script run on another commit (the
code before a change, in a ``git worktree``) instead of the committed cells, which other
changes since they were run may have moved.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from rewardsmith.data import load_dataset, make_task
from rewardsmith.fitting import Prior
from rewardsmith.judge import Judge
from rewardsmith.metrics.spearman import heldout_scores, usable_outputs

SUITES = {
    "builtin": ("benchmarks/results/cells.jsonl", "prior"),
    "unseen": ("benchmarks/results-corpus/results.json", "uncompiled"),
}
REFERENCES = ("ebm", "gbm", "ridge")


def committed(path: str) -> list[dict]:
    if path.endswith(".jsonl"):
        cells = [json.loads(line) for line in Path(path).read_text().splitlines()]
    else:
        cells = json.loads(Path(path).read_text())["records"]
    latest = {}
    for cell in cells:  # the last record of a cell wins, as in the benchmark's own log
        latest[(cell["dataset"], cell["method"], cell["fit_size"], cell["seed"])] = cell
    return list(latest.values())


def run_cell(cell: dict, references: dict) -> dict | None:
    task = make_task(load_dataset(cell["dataset"]), fit_size=cell["fit_size"], seed=cell["seed"])
    if (len(task.fit_rows), len(task.heldout_rows)) != (cell["fit_rows"], cell["heldout_rows"]):
        return None
    prior = Prior.from_dict(cell["prior"]) if cell.get("prior") else None
    started = time.perf_counter()
    judge = Judge(task.fit_rows, prior, seed=cell["seed"])
    winner = judge.winner()
    seconds = time.perf_counter() - started
    scores = heldout_scores(usable_outputs(winner.function, task.heldout_rows), task.fit_rows,
                            task.heldout_rows)
    front = judge.front
    record = {"dataset": cell["dataset"], "fit_size": cell["fit_size"], "seed": cell["seed"],
              "fit_rows": len(task.fit_rows), "rho": scores["rho"],
              "unseen_rho": scores["unseen_rho"], "chosen": winner.name,
              "terms": front.size() if front else None,
              "front": len(front.terms) if front else None,
              "pair_terms": (sum(t.kind == "pair" for t in front.chosen()) if front else None),
              "seconds": round(seconds, 2),
              "before": {"rho": cell["rho"], "unseen_rho": cell.get("unseen_rho"),
                         "chosen": cell.get("chosen")}}
    for name, ref in references.items():
        record[name] = {"rho": ref["rho"], "unseen_rho": ref.get("unseen_rho")}
    return record


def draw_figures(folder: Path) -> None:
    """Wine with all fit rows, seed 0, its replayed prior: the front, the function along alcohol
    and volatile acidity, and the function itself."""
    from rewardsmith.report import plots
    from rewardsmith.report.page import dependence_curves

    cell = next(c for c in committed(SUITES["builtin"][0]) if c["method"] == "prior"
                and c["dataset"] == "wine_quality" and c["fit_size"] is None and c["seed"] == 0)
    task = make_task(load_dataset("wine_quality"), fit_size=None, seed=0)
    judge = Judge(task.fit_rows, Prior.from_dict(cell["prior"]), seed=0)
    folder.mkdir(parents=True, exist_ok=True)
    front = judge.front
    (folder / "wine_front.png").write_bytes(
        plots.front(front.points(), f"wine_quality, {len(task.fit_rows)} fit rows"))
    function = judge.winner().function
    curves, _ = dependence_curves(function, task.fit_rows)
    (folder / "wine_shapes.png").write_bytes(plots.dependence(
        {name: curves[name] for name in ("alcohol", "volatile_acidity")}, columns=2))
    (folder / "wine_function.txt").write_text(function.source)  # text: generated lines are long
    winner = judge.winner()
    print(f"wrote {folder}/wine_front.png, wine_shapes.png and wine_function.txt "
          f"({winner.name}, {front.size()} of {len(front.terms)} terms; the search's CV rho "
          f"there {front.cv_rho[front.size() - 1]:.3f}, the judge's CV rho {winner.cv_rho:.3f})")


def interval(values, rng, draws=10_000):
    values = np.asarray(values, dtype=float)
    means = rng.choice(values, size=(draws, len(values))).mean(axis=1)
    return values.mean(), np.quantile(means, 0.025), np.quantile(means, 0.975)


def summary(records: list[dict], suite: str, key: str = "rho") -> str:
    """Means by fit size and paired differences: over seeds of the per-seed mean over tables
    (builtin), or over table x seed cells resampled by table (unseen)."""
    rng = np.random.default_rng(0)
    lines = [f"{'rows':>5}  {'cells':>5}  {'new':>6}  {'before':>6}  {'ebm':>6}  {'gbm':>6}  "
             f"{'ridge':>6}  new - before [95%]      new - ebm [95%]         terms (pairs)"]
    by_size = defaultdict(list)
    for r in records:
        by_size[r["fit_size"]].append(r)
    for size in sorted(by_size, key=lambda s: (s is None, s or 0)):
        cells = [r for r in by_size[size] if r[key] is not None and r["ebm"][key] is not None]
        if not cells:
            continue
        group = "seed" if suite == "builtin" else "dataset"
        units = defaultdict(list)
        for r in cells:
            units[r[group]].append(r)

        def unit_means(value, units=units):
            return [np.mean([value(r) for r in units[u]]) for u in sorted(units)]

        new = unit_means(lambda r: r[key])
        cols = {name: unit_means(lambda r, n=name: r[n][key])
                for name in ("before", *REFERENCES)}
        d_before = interval(np.subtract(new, cols["before"]), rng)
        d_ebm = interval(np.subtract(new, cols["ebm"]), rng)
        terms = [r["terms"] for r in cells if r["terms"]]
        pairs = [r["pair_terms"] for r in cells if r["terms"]]
        size_text = "all" if size is None else str(size)
        term_text = f"{np.mean(terms):.1f} ({np.mean(pairs):.1f})" if terms else "-"
        lines.append(
            f"{size_text:>5}  {len(cells):>5}  {np.mean(new):.3f}  {np.mean(cols['before']):.3f}"
            f"  {np.mean(cols['ebm']):.3f}  {np.mean(cols['gbm']):.3f}  "
            f"{np.mean(cols['ridge']):.3f}  {d_before[0]:+.3f} [{d_before[1]:+.3f}, "
            f"{d_before[2]:+.3f}]  {d_ebm[0]:+.3f} [{d_ebm[1]:+.3f}, {d_ebm[2]:+.3f}]  "
            f"{term_text}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", choices=SUITES, default="builtin")
    p.add_argument("--sizes", default="10,20,100,all")
    p.add_argument("--datasets", default="", help="comma-separated; default: every one")
    p.add_argument("--out", default="benchmarks/results-front")
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--figures", action="store_true", help="draw the wine figures and stop")
    p.add_argument("--baseline", help="records of this script on another commit: 'before'")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.figures:
        draw_figures(Path(args.out) / "figures")
        return 0
    source, method = SUITES[args.suite]
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    wanted = set(filter(None, args.datasets.split(",")))
    cells = committed(source)
    index = {(c["dataset"], c["method"], c["fit_size"], c["seed"]): c for c in cells}
    plan = [c for c in cells if c["method"] == method and c["fit_size"] in sizes
            and not c.get("error") and (not wanted or c["dataset"] in wanted)
            and all((c["dataset"], m, c["fit_size"], c["seed"]) in index for m in REFERENCES)]
    if args.suite == "unseen":
        plan = [c for c in plan if "/" in c["dataset"]]  # the corpus tables; builtin has its own
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"{args.suite}.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            done[(r["dataset"], r["fit_size"], r["seed"])] = r
    deadline = None if args.max_minutes is None else time.monotonic() + 60 * args.max_minutes
    skipped = 0
    with log.open("a") as handle:
        for c in plan:
            key = (c["dataset"], c["fit_size"], c["seed"])
            if key in done:
                continue
            if deadline is not None and time.monotonic() > deadline:
                print("time limit reached; run the same command again to add the rest",
                      file=sys.stderr)
                break
            refs = {m: index[(c["dataset"], m, c["fit_size"], c["seed"])] for m in REFERENCES}
            record = run_cell(c, refs)
            if record is None:
                skipped += 1
                continue
            done[key] = record
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            print(f"{key[0]} {key[1] or 'all'} seed {key[2]}: {record['rho']:.3f} (before "
                  f"{record['before']['rho']:.3f}, ebm {record['ebm']['rho']:.3f}) "
                  f"{record['chosen']}, {record['seconds']:.1f} s", file=sys.stderr)
    records = [done[k] for k in done if k[1] in sizes and (not wanted or k[0] in wanted)]
    if args.baseline:
        other = {}
        for line in Path(args.baseline).read_text().splitlines():
            r = json.loads(line)
            other[(r["dataset"], r["fit_size"], r["seed"])] = r
        records = [{**r, "before": {"rho": other[k]["rho"], "unseen_rho": other[k]["unseen_rho"]}}
                   for r in records if (k := (r["dataset"], r["fit_size"], r["seed"])) in other]
        print(f"'before': {args.baseline} ({len(records)} cells in both)")
    if skipped:
        print(f"{skipped} cells skipped: their task's row counts differ from the committed ones")
    print(f"{args.suite}: held-out rho")
    print(summary(records, args.suite))
    print(f"\n{args.suite}: rho on held-out rows that repeat no fit row")
    print(summary(records, args.suite, "unseen_rho"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
