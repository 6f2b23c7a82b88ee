"""Load test of the sandbox pool: 200 candidate functions on a 100,000-row x 11-attribute table.

Run: ``.venv/bin/python benchmarks/sandbox_load.py`` (options: ``--help``).

The candidates are the kind an LLM writes (weights dicts, math calls, if/else, PARAMS, helpers),
varied by a seeded generator, plus the faults a compile meets: functions that hang (busy loops),
that allocate too much memory, that raise (a misspelled attribute), and that the static check
refuses. ``SandboxPool.evaluate_many`` runs them all; the script prints

- wall time and candidates per second;
- what each candidate got (outputs, timeout, crash, error, refused), checked against what it
  should get;
- peak memory: this process (``ru_maxrss`` of RUSAGE_SELF), reaped workers (``ru_maxrss`` of
  RUSAGE_CHILDREN: the largest of them), and every worker's ``VmHWM`` sampled from
  ``/proc/<pid>/status`` while it ran and just before ``close()``;
- the number of this process's children still alive after ``close()`` (leaked processes).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewardsmith.sandbox import (  # noqa: E402
    SandboxCrash,
    SandboxError,
    SandboxPool,
    SandboxTimeout,
    UnsafeCodeError,
)

ATTRIBUTES = [
    "helpfulness", "correctness", "coherence", "complexity", "verbosity", "length_tokens",
    "n_citations", "hedging", "toxicity", "formatting", "refusal",
]


def make_table(n_rows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    columns = []
    for name in ATTRIBUTES:
        if name == "length_tokens":
            columns.append(rng.lognormal(5.5, 0.8, n_rows).round())
        elif name == "n_citations":
            columns.append(rng.poisson(1.5, n_rows).astype(float))
        elif name == "refusal":
            columns.append((rng.random(n_rows) < 0.05).astype(float))
        else:
            columns.append(rng.uniform(0, 4, n_rows).round(2))
    return np.column_stack(columns)


# -- candidates ---------------------------------------------------------------------------------

def _weights(rng, k: int) -> dict[str, float]:
    picked = rng.choice([a for a in ATTRIBUTES if a != "length_tokens"], size=k, replace=False)
    return {str(a): round(float(rng.normal(0.5, 0.7)), 2) for a in picked}


def _dict_text(d: dict[str, float]) -> str:
    return "{\n" + "".join(f'    "{k}": {v!r},\n' for k, v in d.items()) + "}"


def good_candidate(rng: np.random.Generator, i: int) -> str:
    kind = i % 6
    if kind == 0:  # weights dict + penalties
        w = _weights(rng, int(rng.integers(3, 7)))
        t = round(float(rng.uniform(1, 3)), 1)
        return f'''"""Weighted sum with a verbosity penalty (candidate {i})."""
import math

WEIGHTS = {_dict_text(w)}


def score(attrs):
    total = 0.0
    for name, weight in WEIGHTS.items():
        total += weight * attrs.get(name, 0.0)
    if attrs["verbosity"] > {t}:
        total -= {round(float(rng.uniform(0.1, 1)), 2)} * (attrs["verbosity"] - {t}) ** 2
    if attrs["refusal"] > 0.5:
        total -= {round(float(rng.uniform(0.5, 3)), 2)}
    return total
'''
    if kind == 1:  # PARAMS, log and sqrt
        p = {"w_help": round(float(rng.uniform(0.5, 2)), 2),
             "w_corr": round(float(rng.uniform(0.5, 2)), 2),
             "w_len": round(float(rng.uniform(0.1, 0.6)), 2),
             "w_cite": round(float(rng.uniform(0, 0.5)), 2)}
        target = int(rng.integers(150, 600))
        return f'''import math

PARAMS = {_dict_text(p)}


def score(attrs):
    base = PARAMS["w_help"] * attrs["helpfulness"] + PARAMS["w_corr"] * attrs["correctness"]
    length = abs(math.log1p(attrs["length_tokens"]) - math.log1p({target}.0))
    return base - PARAMS["w_len"] * length + PARAMS["w_cite"] * math.sqrt(attrs["n_citations"])
'''
    if kind == 2:  # piecewise thresholds
        a, b = rng.choice(ATTRIBUTES[:5], size=2, replace=False)
        t1, t2 = sorted(rng.uniform(0.5, 3.5, 2).round(1))
        return f'''def score(attrs):
    x = attrs["{a}"]
    if x < {t1}:
        level = 0.0
    elif x < {t2}:
        level = 1.0 + 0.5 * (x - {t1})
    else:
        level = 2.5 + 0.2 * attrs["{b}"]
    if attrs["toxicity"] > 3.0:
        level -= 2.0
    return level + 0.1 * attrs["coherence"]
'''
    if kind == 3:  # ratios and products
        a, b = rng.choice(ATTRIBUTES[:4], size=2, replace=False)
        return f'''import math


def score(attrs):
    quality = (attrs["{a}"] + 1.0) * (attrs["{b}"] + 1.0)
    cost = max(attrs["verbosity"], 0.5) * (1.0 + attrs["hedging"] / 4.0)
    return math.log(quality / cost) - {round(float(rng.uniform(0, 1)), 2)} * attrs["toxicity"]
'''
    if kind == 4:  # a helper and tanh squashing
        w = _weights(rng, int(rng.integers(2, 5)))
        return f'''import math

WEIGHTS = {_dict_text(w)}


def squash(value, scale):
    return math.tanh(value / scale)


def score(attrs):
    raw = sum(weight * attrs[name] for name, weight in WEIGHTS.items())
    bonus = squash(attrs["n_citations"], {round(float(rng.uniform(1, 4)), 1)})
    penalty = squash(max(attrs["length_tokens"] - 800.0, 0.0), 400.0)
    return raw + 0.5 * bonus - penalty
'''
    keys = [str(a) for a in rng.choice(ATTRIBUTES[:5], size=3, replace=False)]  # min/max/sorted
    return f'''def score(attrs):
    values = sorted([attrs["{keys[0]}"], attrs["{keys[1]}"], attrs["{keys[2]}"]])
    weakest = values[0]
    middle = values[1]
    total = 2.0 * weakest + middle + 0.25 * max(values)
    if attrs["formatting"] >= {round(float(rng.uniform(1, 3)), 1)}:
        total += 0.3
    return total - 0.5 * min(attrs["toxicity"], 2.0)
'''


HANGS = [
    "def score(attrs):\n    t = 0\n    for i in range(10**12):\n        t += i\n    return t\n",
    "def score(attrs):\n    return float(sum(range(10**13)))\n",
    ("def score(attrs):\n    t = 0.0\n    for i in range(10**6):\n        for j in range(10**6):\n"
     "            t += attrs['coherence']\n    return t\n"),
    "def score(attrs):\n    return float(max(range(10**12)))\n",
    "def score(attrs):\n    x = 7 ** (10 ** 9)\n    return float(x % 10)\n",
]
MEMORY_HOGS = [
    "def score(attrs):\n    big = [attrs['helpfulness']] * (10**10)\n    return float(len(big))\n",
    ("def score(attrs):\n    big = [attrs['helpfulness'] + i for i in range(10**9)]\n"
     "    return float(len(big))\n"),
    "def score(attrs):\n    text = 'x' * (10**11)\n    return float(len(text))\n",
    ("def score(attrs):\n    table = {i: [i] * 8 for i in range(10**9)}\n"
     "    return float(len(table))\n"),
    ("def score(attrs):\n    rows = [[attrs['coherence']] * 1000 for i in range(10**7)]\n"
     "    return float(len(rows))\n"),
]
RAISING = [  # the typos and slips an LLM makes
    'def score(attrs):\n    return attrs["helpfullness"] + attrs["correctness"]\n',
    'import math\n\n\ndef score(attrs):\n    return math.log(attrs["refusal"])\n',
    'def score(attrs):\n    return attrs["correctness"] / attrs["refusal"]\n',
]
REFUSED = [
    "import numpy as np\n\n\ndef score(attrs):\n    return float(np.mean(list(attrs.values())))\n",
    "def score(attrs):\n    return eval('attrs[\"helpfulness\"]')\n",
]


def make_candidates(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(sources, expected kind of result per source), faults spread through the batch."""
    rng = np.random.default_rng(seed)
    faults = ([(s, "killed") for s in HANGS] + [(s, "memory") for s in MEMORY_HOGS]
              + [(s, "error") for s in RAISING] + [(s, "refused") for s in REFUSED])
    n_good = max(n - len(faults), 0)
    items = [(good_candidate(rng, i), "ok") for i in range(n_good)] + faults
    order = rng.permutation(len(items))
    return [items[k][0] for k in order], [items[k][1] for k in order]


# -- measuring ----------------------------------------------------------------------------------

def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def live_children() -> list[int]:
    """Pids of this process's children that /proc still lists (running or zombie)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(entry.name))
    return found


class WorkerSampler(threading.Thread):
    """Samples VmHWM of every worker the pool runs, every ``interval`` s, until stopped."""

    def __init__(self, pool: SandboxPool, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pool, self.interval = pool, interval
        self.peak_kb: dict[int, int] = {}
        self.stopped = threading.Event()

    def sample(self) -> None:
        for pid in self.pool.worker_pids():
            hwm = _status_kb(pid, "VmHWM")
            if hwm is not None:
                self.peak_kb[pid] = max(hwm, self.peak_kb.get(pid, 0))

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()


# A memory hog that grows slowly may meet the CPU or wall-clock limit before the memory limit.
ACCEPT = {"ok": {"ok"}, "killed": {"killed"}, "memory": {"memory", "killed"},
          "error": {"error"}, "refused": {"refused"}}


def classify(result) -> str:
    if isinstance(result, np.ndarray):
        return "ok"
    if isinstance(result, UnsafeCodeError):
        return "refused"
    if isinstance(result, SandboxTimeout | SandboxCrash):
        return "killed"
    if isinstance(result, SandboxError) and "MemoryError" in str(result):
        return "memory"
    return "error"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--timeout", type=float, default=10.0, help="wall clock per call, s")
    parser.add_argument("--cpu", type=float, default=5.0, help="CPU time per call, s")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address space per worker")
    args = parser.parse_args(argv)

    rss_after_imports_kb = _status_kb(os.getpid(), "VmRSS") or 0
    matrix = make_table(args.rows)
    sources, wanted = make_candidates(args.candidates)
    children_before = set(live_children())
    pool = SandboxPool(workers=args.workers, timeout_s=args.timeout, cpu_s=args.cpu,
                       memory_mb=args.memory_mb)
    print(f"table: {args.rows:,} rows x {len(ATTRIBUTES)} attributes "
          f"({matrix.nbytes / 2**20:.1f} MiB as float64)")
    print(f"candidates: {len(sources)} ({Counter(wanted)['ok']} ordinary, {len(HANGS)} hang, "
          f"{len(MEMORY_HOGS)} allocate too much, {len(RAISING)} raise, {len(REFUSED)} unsafe)")
    print(f"pool: {pool.workers} workers, timeout {args.timeout:g} s, CPU {args.cpu:g} s, "
          f"address space {args.memory_mb} MiB per worker; {os.cpu_count()} CPUs")

    sampler = WorkerSampler(pool)
    sampler.start()
    started = time.perf_counter()
    results = pool.evaluate_many(sources, ATTRIBUTES, matrix)
    wall = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    sampler.sample()  # the workers alive now, just before close
    final_pids = pool.worker_pids()
    pool.close()
    time.sleep(0.1)
    leaked = [pid for pid in live_children() if pid not in children_before]

    got = [classify(r) for r in results]
    mismatched = [(i, w, g, str(r)[:120]) for i, (w, g, r) in
                  enumerate(zip(wanted, got, results, strict=True)) if g not in ACCEPT[w]]
    bad_outputs = sum(1 for r in results if isinstance(r, np.ndarray)
                      and (r.shape != (args.rows,) or not np.isfinite(r).all()))
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peaks = sorted(sampler.peak_kb.values())

    print()
    print(f"wall time: {wall:.1f} s  ({len(sources) / wall:.1f} candidates/s)")
    print("results: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(got).items())))
    print(f"expected kinds matched: {len(sources) - len(mismatched)}/{len(sources)}; "
          f"ordinary outputs with wrong shape or non-finite values: {bad_outputs}")
    for i, w, g, text in mismatched:
        print(f"  candidate {i}: expected {w}, got {g}: {text}")
    print(f"peak RSS, this process (RUSAGE_SELF ru_maxrss): {self_kb / 1024:.0f} MiB "
          f"({rss_after_imports_kb / 1024:.0f} MiB of it before the table was built: Python, "
          "numpy, and the pandas/scipy that rewardsmith.sandbox imports)")
    print(f"peak RSS, largest reaped worker (RUSAGE_CHILDREN ru_maxrss): "
          f"{children_kb / 1024:.0f} MiB")
    print(f"peak RSS per worker (VmHWM sampled, {len(peaks)} worker processes over the run): "
          + ", ".join(f"{kb / 1024:.0f}" for kb in peaks) + " MiB")
    print("VmHWM of the workers alive just before close: "
          + ", ".join(f"pid {pid} {sampler.peak_kb.get(pid, 0) / 1024:.0f} MiB"
                      for pid in final_pids))
    print(f"leaked processes after close (children of this pid still alive): {len(leaked)}"
          + (f" {leaked}" if leaked else ""))
    return 0 if not mismatched and not leaked and not bad_outputs else 1


if __name__ == "__main__":
    sys.exit(main())
