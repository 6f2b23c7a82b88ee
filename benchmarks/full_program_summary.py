"""The full program (writing included) on unseen tables, against itself without writing.

Reads the cells of ``results-corpus-full/`` (the program with one round of one written function)
and, for the same tables, fit sizes and seeds, the ``rounds=0`` cells of ``results-corpus/``
(the same library and prior-step prompts, nothing written). Prints, per fit size: the mean
held-out rho of compiled and uncompiled, compiled less uncompiled, each less its own program
without writing (paired over table-seeds, 95% bootstrap interval), and in how many cells a
written function was the judge's choice.

    .venv/bin/python benchmarks/full_program_summary.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from corpus_summary import cells

from rewardsmith.bench.summary import bootstrap_interval

METHODS = ("compiled", "uncompiled")


def rows(folder: Path) -> dict:
    return {(r["dataset"], r["method"], r["fit_size"], r["seed"]): r for r in cells(folder)}


def text(interval: dict) -> str:
    return f"{interval['mean']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def main(full="benchmarks/results-corpus-full", plain="benchmarks/results-corpus") -> int:
    written, unwritten = rows(Path(full)), rows(Path(plain))
    sizes = sorted({k[2] for k in written}, key=lambda s: (s is None, s or 0))
    print("| fit rows | table-seeds | compiled | uncompiled | compiled - uncompiled | "
          "compiled vs no writing | uncompiled vs no writing | written chosen (c / u) |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        keys = sorted({(k[0], k[3]) for k in written if k[2] == size
                       and all((k[0], m, size, k[3]) in written for m in METHODS)})
        if not keys:
            continue
        rho = {m: [written[(t, m, size, s)]["rho"] for t, s in keys] for m in METHODS}
        versus = {m: [written[(t, m, size, s)]["rho"] - unwritten[(t, m, size, s)]["rho"]
                      for t, s in keys if (t, m, size, s) in unwritten] for m in METHODS}
        chosen = {m: sum(written[(t, m, size, s)]["chosen"].startswith("attempt")
                         for t, s in keys) for m in METHODS}
        mean = {m: sum(rho[m]) / len(rho[m]) for m in METHODS}
        diff = bootstrap_interval(a - b for a, b in zip(rho["compiled"], rho["uncompiled"],
                                                         strict=True))
        print(f"| {size or 'all'} | {len(keys)} | {mean['compiled']:.3f} | "
              f"{mean['uncompiled']:.3f} | {text(diff)} | "
              f"{text(bootstrap_interval(versus['compiled']))} "
              f"({len(versus['compiled'])}) | {text(bootstrap_interval(versus['uncompiled']))} "
              f"({len(versus['uncompiled'])}) | {chosen['compiled']} / {chosen['uncompiled']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
