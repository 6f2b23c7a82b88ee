"""The unseen suite's figures against issue 22's goals, from ``results-corpus/cells.jsonl``.

Printed (Markdown), for the corpus's unseen tables and, apart, for aadb, spaq and wine_quality:

- held-out rho per method and fit size, mean over tables and seeds;
- paired differences (compiled less uncompiled, ridge, ebm, and the best of the linear
  baselines) with a 95% bootstrap interval that resamples tables (a table's seeds move
  together), over the cells where both methods finished;
- direction agreement per method: the prior a cell used against the sign of each attribute's
  rank correlation over **all** of the table's rows, where its 95% interval excludes zero (the
  rule of the gold priors; other attributes are not counted). That sign is evaluation only,
  like held-out rho: it is computed here, never stored in the catalog, never reaches a compile.

    .venv/bin/python benchmarks/corpus_summary.py [benchmarks/results-corpus]
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from rewardsmith.bench.cli import suite_tables
from rewardsmith.corpus import catalog
from rewardsmith.corpus.gold import direction_of
from rewardsmith.data import load_dataset

PRIOR_METHODS = ("compiled", "uncompiled", "retrieved")
ORDER = ("compiled", "uncompiled", "retrieved", "signed_mean", "ols", "ridge", "gbm", "ebm")
COMPARE = (("compiled", "uncompiled"), ("compiled", "ridge"), ("compiled", "ebm"),
           ("compiled", "best linear"), ("retrieved", "ridge"))


def cells(folder: Path) -> list[dict]:
    """The finished cells of the last bench command there (``results.json``: only cells made
    with the code and settings it ran, since a stale one is computed again, not reused), else
    the last record per cell of ``cells.jsonl``."""
    results = folder / "results.json"
    if results.is_file():
        lines = [json.dumps(r) for r in json.loads(results.read_text())["records"]]
    else:
        lines = (folder / "cells.jsonl").read_text().splitlines()
    records = {}
    for line in lines:
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if r.get("error") is None and r.get("rho") is not None:
            records[(r["dataset"], r["method"], r["fit_size"], r["seed"])] = r
    return list(records.values())


def paired(rho, a, b, tables, size, draws=2000):
    """Mean of a - b over (table, seed) cells both have, and its table-resampled interval."""
    per_table = {}
    for t in tables:
        diffs = [rho[(t, a, size, s)] - rho[(t, b, size, s)] for s in range(10)
                 if (t, a, size, s) in rho and (t, b, size, s) in rho]
        if diffs:
            per_table[t] = diffs
    if not per_table:
        return None
    keys = sorted(per_table)
    sums = np.array([sum(per_table[k]) for k in keys])
    counts = np.array([len(per_table[k]) for k in keys])
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(draws):
        pick = rng.integers(0, len(keys), len(keys))
        boot.append(sums[pick].sum() / counts[pick].sum())
    return (sums.sum() / counts.sum(), *np.percentile(boot, [2.5, 97.5]), len(keys),
            int(counts.sum()))


def own_signs(name: str) -> dict[str, int]:
    """+1 / -1 where the attribute's rank correlation over all rows has a 95% interval clear of
    zero (the gold prior's rule), 0 elsewhere (such attributes are not counted)."""
    ds = load_dataset(name)
    y = ds.frame[ds.target].to_numpy()
    signs = {}
    for a in ds.attributes:
        x = ds.frame[a].to_numpy()
        rho = stats.spearmanr(x, y).statistic if np.ptp(x) else 0.0
        direction = direction_of(float(rho), len(y)) if np.isfinite(rho) else "none"
        signs[a] = {"higher": 1, "lower": -1}.get(direction, 0)
    return signs


def main(folder="benchmarks/results-corpus", tables=None) -> None:
    warnings.simplefilter("ignore")
    records = cells(Path(folder))
    rho = {(r["dataset"], r["method"], r["fit_size"], r["seed"]): r["rho"] for r in records}
    # Only the suite as the catalog has it now: a table dropped from the catalog after its cells
    # were computed (another version of a train table) stays in cells.jsonl, not in the figures.
    suite = set(tables if tables is not None else suite_tables("unseen"))
    names = sorted({r["dataset"] for r in records} & suite)
    groups = {"unseen corpus tables": [n for n in names if n in catalog()],
              "aadb, spaq, wine_quality": [n for n in names if n not in catalog()]}
    sizes = sorted({r["fit_size"] for r in records}, key=lambda s: (s is None, s or 0))
    methods = [m for m in ORDER if any(r["method"] == m for r in records)]
    for title, members in groups.items():
        print(f"\n### {title} ({len(members)})\n")
        print("| fit rows | " + " | ".join(methods) + " |")
        print("|---" * (len(methods) + 1) + "|")
        for size in sizes:
            row = []
            for m in methods:
                v = [rho[k] for k in rho if k[1] == m and k[2] == size and k[0] in members]
                row.append(f"{np.mean(v):.3f} ({len(v)})" if v else "")
            print(f"| {size or 'all'} | " + " | ".join(row) + " |")
        print("\npaired differences (mean [95% interval over tables], tables, cells); "
              "'best linear' is whichever of signed_mean, ols and ridge has the highest mean "
              "at that size:\n")
        for size in sizes:
            parts = []
            means = {m: np.mean([v for k, v in rho.items() if k[1] == m and k[2] == size
                                 and k[0] in members] or [-2.0])
                     for m in ("signed_mean", "ols", "ridge")}
            best = max(means, key=means.get)
            for k in [k for k in rho if k[1] == best and k[2] == size]:
                rho[(k[0], "best linear", size, k[3])] = rho[k]
            for a, b in COMPARE:
                found = paired(rho, a, b, members, size)
                if found:
                    mean, low, high, n_tables, n_cells = found
                    parts.append(f"{a} - {b} {mean:+.3f} [{low:+.3f}, {high:+.3f}] "
                                 f"({n_tables}, {n_cells})")
            print(f"- {size or 'all'} rows (best linear: {best}): " + "; ".join(parts))
    print("\n### direction agreement with each table's own signs (all rows; evaluation only)\n")
    signs = {n: own_signs(n) for n in names}
    for title, members in groups.items():
        for m in PRIOR_METHODS:
            agree = total = 0
            per_table = []
            for n in members:
                cell = next((r for r in records if r["dataset"] == n and r["method"] == m
                             and r.get("prior")), None)
                if cell is None:
                    continue
                stated = cell["prior"]["attributes"]
                good = sum(1 for a, s in signs[n].items() if s and stated.get(a, {}).get(
                    "direction") == ("higher" if s > 0 else "lower"))
                count = sum(1 for s in signs[n].values() if s)
                agree, total = agree + good, total + count
                per_table.append(good / count if count else 0.0)
            if total:
                print(f"- {title}, {m}: {agree}/{total} attributes ({agree / total:.0%}); "
                      f"mean over {len(per_table)} tables {np.mean(per_table):.0%}")
        if "wine_quality" in members:
            for m in PRIOR_METHODS:
                cell = next((r for r in records if r["dataset"] == "wine_quality"
                             and r["method"] == m and r.get("prior")), None)
                if cell:
                    stated = cell["prior"]["attributes"]
                    good = sum(1 for a, s in signs["wine_quality"].items() if s and stated.get(
                        a, {}).get("direction") == ("higher" if s > 0 else "lower"))
                    counted = sum(1 for v in signs["wine_quality"].values() if v)
                    print(f"- wine_quality, {m}: {good} of {counted}")


if __name__ == "__main__":
    main(*sys.argv[1:])
