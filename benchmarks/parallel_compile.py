"""How much DSPy's threads shorten a compile against an API model that takes 1 s per reply.

A GEPA compile runs against the test suite's fake OpenAI server (127.0.0.1, scripted replies,
``--latency`` seconds before each answer), with ``--threads 1`` and then ``--threads N``. The
LM waits dominate, as with a remote API; the sandbox pool scores the functions of concurrent
tasks in parallel workers. Prints wall time, LM calls and the speed-up.

    .venv/bin/python benchmarks/parallel_compile.py            # threads 1 vs 4, latency 1 s
    .venv/bin/python benchmarks/parallel_compile.py --threads 8 --budget 24
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import FakeOpenAIServer  # noqa: E402
from scripted_responders import make_responder  # noqa: E402

from rewardsmith.cli import main  # noqa: E402


def timed_compile(threads: int, budget: int, latency: float, out_dir: Path) -> tuple[float, int]:
    responder = make_responder(prior={"composition": "higher", "lighting": "higher"})
    with FakeOpenAIServer(responder, max_requests=10_000, latency_s=latency) as server:
        started = time.perf_counter()
        code = main(["compile", "--data", "seed,fed_turn", "--optimizer", "gepa",
                     "--budget", str(budget), "--fit-sizes", "20", "--seeds", "0,1",
                     "--rounds", "1", "--samples", "1", "--threads", str(threads),
                     "--out", str(out_dir / f"program_{threads}.json"),
                     "--lm", "openai/fake-model", "--api-base", server.url, "--no-cache"])
        elapsed = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"compile with --threads {threads} failed (exit {code})")
        return elapsed, server.requests


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4, help="threads of the second run (4)")
    parser.add_argument("--budget", type=int, default=16, help="GEPA metric calls (16)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per reply (1.0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(threads, *timed_compile(threads, args.budget, args.latency, Path(tmp)))
                for threads in (1, args.threads)]
    print(f"\nGEPA compile, budget {args.budget}, fake API with {args.latency:g} s per reply")
    print(f"{'threads':>8} {'wall s':>8} {'LM calls':>9}")
    for threads, seconds, calls in rows:
        print(f"{threads:>8} {seconds:>8.1f} {calls:>9}")
    print(f"speed-up with {args.threads} threads: {rows[0][1] / rows[1][1]:.2f}x")


if __name__ == "__main__":
    main_()
