"""Rows per second when scoring a big table.

Run: ``.venv/bin/python benchmarks/score_throughput.py`` (default 10,000,000 rows; ``--rows 200000``
for a quick check).

Writes N rows (an id and five float attributes) to a Parquet file in a temporary folder, then
times, end to end (read, score in the sandbox, write a Parquet file with every column plus the
score):

- ``rewardsmith score`` (the command, in a fresh process) for a linear function and one of 15
  hinges (``max(x - c, 0.0)``, as the selected terms write them), which run by whole columns,
  and for a branching one, which runs row by row;
- ``score_dask`` on a ``distributed.LocalCluster`` of 2 worker processes, 1 thread each, for the
  same two functions (cluster start-up timed apart). Needs ``pip install 'rewardsmith[dask]'``.

Each output is spot-checked against the same formula in numpy.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewardsmith.sandbox import ScoringFunction  # noqa: E402

ATTRIBUTES = ["helpfulness", "correctness", "verbosity", "toxicity", "length"]

LINEAR = '''import math


def score(attrs):
    return (1.2 * attrs["helpfulness"] + 1.5 * attrs["correctness"] - 0.5 * attrs["verbosity"]
            - 3.0 * attrs["toxicity"] - 0.2 * math.log1p(attrs["length"]))
'''

BRANCHING = '''def score(attrs):
    total = 1.2 * attrs["helpfulness"] + 1.5 * attrs["correctness"]
    if attrs["toxicity"] > 0.5:
        total -= 3.0
    return total - max(0.0, attrs["verbosity"] - 2.0)
'''


#: 15 hinges, three per attribute, as the selected terms write them (``fitting/terms.py``).
HINGE_TERMS = [(w, kind, a, knot) for a, knots in
               (("helpfulness", (1.0, 2.0, 3.0)), ("correctness", (1.0, 2.0, 3.0)),
                ("verbosity", (1.0, 2.0, 3.0)), ("toxicity", (0.25, 0.5, 0.75)),
                ("length", (100.0, 500.0, 1500.0)))
               for w, kind, knot in zip((0.8, -0.4, 0.3), ("max", "min", "max"), knots,
                                        strict=True)]
HINGES = "def score(attrs):\n    return (\n" + "\n".join(
    f"        {'+' if w >= 0 else '-'} {abs(w)} * {kind}(attrs[\"{a}\"] - {knot}, 0.0)"
    for w, kind, a, knot in HINGE_TERMS) + "\n    )\n"


def expected(name: str, table: pa.Table) -> np.ndarray:
    c = {a: table.column(a).to_numpy() for a in ATTRIBUTES}
    if name == "hinges":
        pick = {"max": np.maximum, "min": np.minimum}
        return sum(w * pick[kind](c[a] - knot, 0.0) for w, kind, a, knot in HINGE_TERMS)
    if name == "linear":
        return (1.2 * c["helpfulness"] + 1.5 * c["correctness"] - 0.5 * c["verbosity"]
                - 3.0 * c["toxicity"] - 0.2 * np.log1p(c["length"]))
    total = 1.2 * c["helpfulness"] + 1.5 * c["correctness"]
    total = np.where(c["toxicity"] > 0.5, total - 3.0, total)
    return total - np.maximum(0.0, c["verbosity"] - 2.0)


def make_table(path: Path, rows: int, row_group: int) -> None:
    rng = np.random.default_rng(0)
    schema = pa.schema([("id", pa.int64())] + [(a, pa.float64()) for a in ATTRIBUTES])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, row_group):
            n = min(row_group, rows - start)
            data = {"id": np.arange(start, start + n)}
            data.update({a: rng.uniform(0.0, 4.0, n) for a in ATTRIBUTES[:3]})
            data["toxicity"] = rng.uniform(0.0, 1.0, n)
            data["length"] = rng.integers(5, 2000, n).astype(np.float64)
            writer.write_table(pa.table(data, schema=schema))


def head(path: Path, rows: int) -> pa.RecordBatch:
    if path.is_dir():  # Dask's output: part.0.parquet holds the first partition
        path = path / "part.0.parquet"
    return next(pq.ParquetFile(path).iter_batches(batch_size=rows))


def check(name: str, out: Path, source: Path) -> None:
    got = head(out, 100_000)
    want = head(source, got.num_rows)
    np.testing.assert_allclose(got.column("score").to_numpy(), expected(name, want),
                               rtol=1e-9, atol=1e-12)


def time_command(name: str, function: Path, data: Path, out: Path, args) -> tuple:
    command = [sys.executable, "-m", "rewardsmith.cli", "score", "--function", str(function),
               "--data", str(data), "--out", str(out), "--no-progress",
               "--chunk-rows", str(args.chunk_rows)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"rewardsmith score failed:\n{done.stderr}")
    check(name, out, data)
    # The command's own timing (its summary line) leaves out the interpreter's start and imports.
    inside = float(re.search(r"; ([\d.]+) s", done.stdout).group(1))
    return seconds, inside, "columns" if "by whole columns" in done.stdout else "rows"


def time_dask(functions: dict, data: Path, folder: Path, rows: int) -> list[tuple]:
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        print("(dask rows skipped: pip install 'rewardsmith[dask]')", file=sys.stderr)
        return []
    from rewardsmith.scoring.dask import score_dask

    results = []
    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(warm_up)  # each worker imports rewardsmith and starts a sandbox worker
        small = folder / "small.parquet"  # and the whole pipeline runs once, untimed
        make_table(small, 2000, 500)
        tiny = dd.read_parquet(small, split_row_groups=True)
        tiny.assign(score=score_dask(ScoringFunction(LINEAR), tiny)).to_parquet(
            folder / "dask-warm-up", write_index=False)
        startup = time.perf_counter() - started
        for name, source in functions.items():
            function = ScoringFunction(source)
            out = folder / f"dask-{name}"
            started = time.perf_counter()
            ddf = dd.read_parquet(data, split_row_groups=True)  # a partition per row group
            ddf.assign(score=score_dask(function, ddf)).to_parquet(out, write_index=False)
            seconds = time.perf_counter() - started
            check(name, out, data)
            results.append((name, f"score_dask, 2 workers ({ddf.npartitions} partitions)",
                            rows, seconds, None, "-"))
    print(f"(LocalCluster start-up and warm-up: {startup:.1f} s, not included)", file=sys.stderr)
    return results


def warm_up() -> None:
    import pandas as pd

    ScoringFunction(LINEAR).score_frame(pd.DataFrame({a: [1.0] * 100 for a in ATTRIBUTES}))


def main() -> None:
    parser = argparse.ArgumentParser(description="Rows per second when scoring a big table.")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="--workers of rewardsmith score (default: one per CPU)")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rewardsmith-throughput-") as tmp:
        folder = Path(tmp)
        data = folder / "items.parquet"
        started = time.perf_counter()
        # Row groups of ~1/8 of the table (at most 1M rows): Dask gets a partition per group.
        make_table(data, args.rows, min(1_000_000, max(10_000, args.rows // 8)))
        print(f"wrote {args.rows:,} rows x {len(ATTRIBUTES)} attributes to {data.name} "
              f"({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        functions = {"linear": LINEAR, "hinges": HINGES, "branching": BRANCHING}
        results = []
        for name, source in functions.items():
            path = folder / f"{name}.py"
            path.write_text(source)
            seconds, inside, mode = time_command(name, path, data, folder / f"{name}.parquet",
                                                 args)
            results.append((name, "rewardsmith score", args.rows, seconds, inside, mode))
        if not args.no_dask:
            results += time_dask(functions, data, folder, args.rows)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nscoring throughput, {args.rows:,} rows, {cpus} CPUs, Python "
          f"{sys.version.split()[0]}, chunk {args.chunk_rows:,} rows")
    print("(seconds: wall clock, the command's process start included; in-command: its own "
          "timing, without the start)")
    print(f"| {'function':<10} | {'how':<38} | {'mode':<7} | {'seconds':>8} | {'rows/s':>10} "
          f"| {'in-command rows/s':>17} |")
    print(f"|{'-' * 12}|{'-' * 40}|{'-' * 9}|{'-' * 10}|{'-' * 12}|{'-' * 19}|")
    for name, how, rows, seconds, inside, mode in results:
        rate = f"{rows / inside:,.0f}" if inside else "-"
        print(f"| {name:<10} | {how:<38} | {mode:<7} | {seconds:>8.2f} | {rows / seconds:>10,.0f} "
              f"| {rate:>17} |")


if __name__ == "__main__":
    main()
