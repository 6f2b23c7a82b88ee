"""How long the statistical candidates take, front of selected terms included, by rows and
attributes.

Synthetic tables of N rows x P attributes (standard normal). The target is a slope, a hinge and
one interaction plus noise; with ``--rich``, a curve in every attribute and a product of each
neighbouring pair, so the front runs to its 40 terms. For each table, ``Judge(rows, prior)``
with a prior that states every attribute ("higher", importance 2) builds the prior alone, ridge,
shrunk ridge and the selected terms, each cross-validated (3 x 5-fold on at most 2,000 rows, the
selection repeated in every fold) and fitted on all rows. Prints seconds per table and appends
them to ``benchmarks/results-front/speed.jsonl``. Time it with nothing else running.

    .venv/bin/python benchmarks/front_speed.py --rows 1000,2500,5000,10000 --attributes 5,11,20
    .venv/bin/python benchmarks/front_speed.py --rich
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rewardsmith.data.rows import RowTable
from rewardsmith.fitting import AttributePrior, Prior
from rewardsmith.judge import Judge


def table(n: int, p: int, seed: int = 0, rich: bool = False) -> RowTable:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if rich:  # a curved shape in every attribute and a product of each neighbouring pair
        y = (np.sin(1.5 * X).sum(axis=1) + 0.5 * (X[:, :-1] * X[:, 1:]).sum(axis=1)
             + rng.normal(size=n))
    else:
        y = (X[:, 0] + 2.0 * np.maximum(X[:, 1] - 0.5, 0.0)
             + 1.5 * np.maximum(X[:, 0], 0.0) * np.maximum(X[:, 2], 0.0) + rng.normal(size=n))
    names = [f"a{j}" for j in range(p)]
    return RowTable(pd.DataFrame(X, columns=names).assign(t=y), names, "t")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,2500,5000,10000")
    parser.add_argument("--attributes", default="5,11,20")
    parser.add_argument("--rich", action="store_true", help="a curve in every attribute and a "
                        "product of each neighbouring pair: the front runs to its 40 terms")
    parser.add_argument("--out", default="benchmarks/results-front/speed.jsonl")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>6} {'attrs':>5} {'seconds':>8} {'front':>5} {'chosen':>6}  winner")
    with out.open("a") as handle:
        for p in [int(v) for v in args.attributes.split(",")]:
            for n in [int(v) for v in args.rows.split(",")]:
                rows = table(n, p, rich=args.rich)
                prior = Prior({a: AttributePrior("higher", 2) for a in rows.attributes})
                started = time.perf_counter()
                judge = Judge(rows, prior)
                seconds = time.perf_counter() - started
                front = judge.front
                record = {"rows": n, "attributes": p, "rich": args.rich,
                          "seconds": round(seconds, 2),
                          "front": len(front.terms) if front else 0,
                          "chosen": front.size() if front else 0,
                          "winner": judge.winner().name}
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                print(f"{n:>6} {p:>5} {seconds:>8.1f} {record['front']:>5} "
                      f"{record['chosen']:>6}  {record['winner']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
