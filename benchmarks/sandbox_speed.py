"""How fast is a sandboxed scoring function? Run: ``make bench-sandbox``.

Builds a 10,000-row x 11-attribute table and a scoring function of the kind an LLM writes (a weights
dict, a few math calls, an if/else), then times ``ScoringFunction.predict``:

- warm: the same rows, a warm worker (rows already shipped and cached): 50 calls after a warm-up;
- cold: the first call on a new ``Sandbox`` (process start, static check, row transfer, compile);
- new rows every call: a different table each call, so the rows are shipped every time.

Every figure includes the isolation: the call crosses into the worker process and back.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewardsmith.sandbox import Sandbox, ScoringFunction  # noqa: E402

N_ROWS = 10_000
ATTRIBUTES = [
    "helpfulness", "correctness", "coherence", "complexity", "verbosity", "length_tokens",
    "n_citations", "hedging", "toxicity", "formatting", "refusal",
]
WARM_CALLS = 50
COLD_CALLS = 5
FRESH_CALLS = 20

SOURCE = '''"""Reward helpful, correct answers; penalise verbosity, toxicity, needless refusals."""
import math

WEIGHTS = {
    "helpfulness": 1.2,
    "correctness": 1.5,
    "coherence": 0.6,
    "complexity": 0.2,
    "formatting": 0.3,
}


def length_penalty(tokens):
    # Answers far from ~300 tokens lose a little, on a log scale.
    return 0.4 * abs(math.log1p(tokens) - math.log1p(300.0))


def score(attrs):
    total = 0.0
    for name, weight in WEIGHTS.items():
        total += weight * attrs.get(name, 0.0)
    total -= 0.5 * attrs["verbosity"] ** 2
    total -= length_penalty(attrs["length_tokens"])
    total += 0.3 * math.sqrt(attrs["n_citations"])
    if attrs["refusal"] > 0.5:
        total -= 2.0 if attrs["toxicity"] < 0.2 else 0.5
    else:
        total -= 3.0 * max(0.0, attrs["toxicity"] - 0.1)
    total -= 0.25 * math.tanh(attrs["hedging"] - 1.0)
    return total
'''


def make_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.uniform(0.0, 4.0, N_ROWS) for name in ATTRIBUTES}
    data["length_tokens"] = rng.integers(5, 2000, N_ROWS).astype(float)
    data["n_citations"] = rng.integers(0, 8, N_ROWS).astype(float)
    data["toxicity"] = rng.uniform(0.0, 1.0, N_ROWS)
    data["refusal"] = (rng.uniform(size=N_ROWS) < 0.1).astype(float)
    return pd.DataFrame(data)[ATTRIBUTES]


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return (time.perf_counter() - start) * 1000.0, out


def reference(table: pd.DataFrame) -> np.ndarray:
    """The same formula in numpy, to check the sandbox computes what it should."""
    c = {name: table[name].to_numpy() for name in ATTRIBUTES}
    total = (1.2 * c["helpfulness"] + 1.5 * c["correctness"] + 0.6 * c["coherence"]
             + 0.2 * c["complexity"] + 0.3 * c["formatting"])
    total = total - 0.5 * c["verbosity"] ** 2
    total = total - 0.4 * np.abs(np.log1p(c["length_tokens"]) - np.log1p(300.0))
    total = total + 0.3 * np.sqrt(c["n_citations"])
    refused = np.where(c["toxicity"] < 0.2, total - 2.0, total - 0.5)
    answered = total - 3.0 * np.maximum(0.0, c["toxicity"] - 0.1)
    total = np.where(c["refusal"] > 0.5, refused, answered)
    return total - 0.25 * np.tanh(c["hedging"] - 1.0)


def main() -> None:
    table = make_table(0)
    shape = f"{N_ROWS:,} rows x {len(ATTRIBUTES)} attributes"

    # Cold: a new sandbox each time (worker start + row transfer + compile + scoring).
    cold = []
    for _ in range(COLD_CALLS):
        with Sandbox() as sandbox:
            fn = ScoringFunction(SOURCE, ATTRIBUTES, sandbox=sandbox)
            ms, _ = timed(lambda fn=fn: fn.predict(table))
            cold.append(ms)

    with Sandbox() as sandbox:
        fn = ScoringFunction(SOURCE, ATTRIBUTES, sandbox=sandbox)
        first = fn.predict(table)  # warm-up: starts the worker, ships and caches the rows
        np.testing.assert_allclose(first, reference(table), rtol=1e-12, atol=1e-12)

        warm = []
        for _ in range(WARM_CALLS):
            ms, out = timed(lambda: fn.predict(table))
            warm.append(ms)
        np.testing.assert_array_equal(out, first)

        fresh_tables = [make_table(seed) for seed in range(1, FRESH_CALLS + 1)]
        fresh = []
        for t in fresh_tables:
            ms, out = timed(lambda t=t: fn.predict(t))
            fresh.append(ms)
        np.testing.assert_allclose(out, reference(fresh_tables[-1]), rtol=1e-12, atol=1e-12)

    p90 = float(np.percentile(warm, 90))
    print(f"sandboxed scoring function, {shape}, Python {sys.version.split()[0]}")
    print(f"median {statistics.median(warm):.1f} ms (warm, {shape}, isolation included)")
    print(f"p90    {p90:.1f} ms (warm, {WARM_CALLS} calls)")
    print(f"min    {min(warm):.1f} ms (warm)")
    print(f"cold   {statistics.median(cold):.1f} ms (first call on a new Sandbox: process start + "
          f"row transfer; median of {COLD_CALLS}, min {min(cold):.1f} ms)")
    print(f"median {statistics.median(fresh):.1f} ms (new rows every call: a different table each "
          f"time, rows shipped each call; {FRESH_CALLS} calls)")
    print(f"per row {statistics.median(warm) * 1000 / N_ROWS:.2f} us (warm)")


if __name__ == "__main__":
    main()
