"""SandboxPool: many candidates on one table in parallel workers, each fault kept to its candidate.

A hanging or memory-eating candidate is killed while the others finish; every slot of the result
holds that candidate's outputs or its exception; the results equal a single ``Sandbox``'s; after
``close()`` no worker process is left, running or zombie.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rewardsmith.sandbox import (
    Sandbox,
    SandboxCrash,
    SandboxError,
    SandboxPool,
    SandboxTimeout,
    UnsafeCodeError,
)

COLUMNS = ["light", "sharpness", "noise"]
ROWS = np.random.default_rng(0).uniform(0, 10, size=(400, 3))

GOOD = [
    "def score(attrs):\n    return attrs['light'] - 2 * attrs['noise']\n",
    ("import math\n\nWEIGHTS = {'light': 0.5, 'sharpness': 1.2, 'noise': -0.8}\n\n\n"
     "def score(attrs):\n    total = 0.0\n    for name, weight in WEIGHTS.items():\n"
     "        total += weight * attrs.get(name, 0.0)\n"
     "    if attrs['noise'] > 7:\n        total -= 1.0\n    return total\n"),
    ("import math\n\nPARAMS = {'w': 0.7, 'bias': -0.2}\n\n\ndef score(attrs):\n"
     "    return PARAMS['w'] * math.log1p(attrs['sharpness']) + PARAMS['bias']\n"),
]
HANG = "def score(attrs):\n    t = 0\n    for i in range(10**12):\n        t += i\n    return t\n"
HUGE_LIST = "def score(attrs):\n    big = [attrs['light']] * (10**10)\n    return len(big)\n"
GROWING = ("def score(attrs):\n    big = [attrs['light'] + i for i in range(10**9)]\n"
           "    return len(big)\n")
RAISES = "def score(attrs):\n    x = attrs['light']\n    return x / 0\n"
NOT_A_NUMBER = "def score(attrs):\n    return 'high'\n"
UNSAFE = "import os\n\n\ndef score(attrs):\n    return 1.0\n"


def alive(pid: int) -> bool:
    """Running or a zombie: /proc still lists it."""
    return Path(f"/proc/{pid}").exists()


def worker_children() -> set[int]:
    """Child processes of this process that run the sandbox worker."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"sandbox/worker.py" in cmdline:
            found.add(int(entry.name))
    return found


def expected(source: str) -> np.ndarray:
    with Sandbox(timeout_s=5) as sandbox:
        return sandbox.evaluate(source, COLUMNS, ROWS)


def test_each_candidate_gets_its_own_outputs_or_exception():
    before = worker_children()
    sources = [GOOD[0], HANG, GOOD[1], HUGE_LIST, RAISES, GROWING, NOT_A_NUMBER, UNSAFE, GOOD[2]]
    started = time.monotonic()
    with SandboxPool(workers=2, timeout_s=2, cpu_s=2, memory_mb=512) as pool:
        results = pool.evaluate_many(sources, COLUMNS, ROWS)
        pids = set(pool.worker_pids())
    elapsed = time.monotonic() - started
    assert len(results) == len(sources)

    for i in (0, 2, 8):
        np.testing.assert_array_equal(results[i], expected(sources[i]))
    assert isinstance(results[1], SandboxTimeout | SandboxCrash)  # killed: wall clock or CPU
    assert isinstance(results[3], SandboxError)
    assert "MemoryError" in str(results[3])  # refused at once by the address-space limit
    # Growing to the limit takes a while on a busy machine: the memory or the time limit stops it.
    assert isinstance(results[5], SandboxError)
    assert isinstance(results[5], SandboxTimeout | SandboxCrash) or "MemoryError" in str(
        results[5])
    assert isinstance(results[4], SandboxError) and not isinstance(results[4], SandboxCrash)
    assert results[4].line == 3 and "ZeroDivisionError" in str(results[4])
    assert "it must return a number" in str(results[6])
    assert isinstance(results[7], UnsafeCodeError) and results[7].line == 1

    # The hang and the memory hogs cost their own worker's time, not everyone's: far less than
    # running them one after another would.
    assert elapsed < 15
    assert pids and not any(alive(pid) for pid in pids)
    assert worker_children() <= before


def test_results_equal_a_single_sandbox():
    sources = [*GOOD, RAISES, NOT_A_NUMBER, UNSAFE, *GOOD]
    with SandboxPool(workers=3, timeout_s=5) as pool:
        pooled = pool.evaluate_many(sources, COLUMNS, ROWS)
    with Sandbox(timeout_s=5) as sandbox:
        for source, result in zip(sources, pooled, strict=True):
            try:
                single = sandbox.evaluate(source, COLUMNS, ROWS)
            except (UnsafeCodeError, SandboxError) as exc:
                assert type(result) is type(exc) and str(result) == str(exc)
            else:
                assert isinstance(result, np.ndarray)
                np.testing.assert_array_equal(result, single)


def test_workers_stay_warm_between_calls_and_close_kills_them_all():
    pool = SandboxPool(workers=2, timeout_s=5)
    first = pool.evaluate_many(GOOD * 2, COLUMNS, ROWS)
    pids = pool.worker_pids()
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    second = pool.evaluate_many(GOOD * 2, COLUMNS, ROWS[:10])
    assert pool.worker_pids() == pids  # the same processes: no restart for a new table
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a[:10], b)
    pool.close()
    assert not any(alive(pid) for pid in pids)
    assert pool.worker_pids() == []
    pool.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        pool.evaluate_many(GOOD, COLUMNS, ROWS)


def test_close_from_another_thread_stops_a_hanging_batch_at_once():
    pool = SandboxPool(workers=2, timeout_s=30, cpu_s=30)
    results = []
    runner = threading.Thread(
        target=lambda: results.extend(pool.evaluate_many([HANG] * 4, COLUMNS, ROWS)))
    runner.start()
    deadline = time.monotonic() + 10
    while len(pool.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = pool.worker_pids()
    time.sleep(0.3)  # both workers are inside a hanging candidate now
    started = time.monotonic()
    pool.close()
    runner.join(10)
    assert not runner.is_alive()
    assert time.monotonic() - started < 5  # not the 30 s timeout
    assert len(results) == 4 and all(isinstance(r, SandboxError) for r in results)
    assert pids and not any(alive(pid) for pid in pids)
    assert pool.worker_pids() == []


def test_no_candidates_and_bad_tables():
    with SandboxPool(workers=2) as pool:
        assert pool.evaluate_many([], COLUMNS, ROWS) == []
        assert pool.worker_pids() == []  # nothing to do: no worker started
        with pytest.raises(ValueError, match="3 columns, 2 names"):
            pool.evaluate_many(GOOD, COLUMNS[:2], ROWS)
        only_unsafe = pool.evaluate_many([UNSAFE, 42], COLUMNS, ROWS)
        assert all(isinstance(r, UnsafeCodeError) for r in only_unsafe)
        assert pool.worker_pids() == []  # rejected statically: no worker time spent
    with pytest.raises(ValueError, match="at least 1"):
        SandboxPool(workers=0)
    assert SandboxPool().workers >= 1


# -- evaluate: the pool as the sandbox of many threads ------------------------------------------
SLOW = ("def score(attrs):\n    t = 0\n    for i in range(60000):\n        t += i % 7\n"
        "    return attrs['light'] + t * 0\n")


def test_calls_from_one_thread_reuse_one_warm_worker():
    with SandboxPool(workers=2) as pool:
        for source in GOOD:
            pool.evaluate(source, COLUMNS, ROWS[:20])
        assert len(pool.worker_pids()) == 1


def test_threads_scoring_at_once_get_workers_of_their_own():
    with SandboxPool(workers=2) as pool:
        results = {}

        def work(k):
            results[k] = pool.evaluate(SLOW, COLUMNS, ROWS[:40])

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(pool.worker_pids()) == 2  # never more workers than the pool has
        for k in range(4):
            np.testing.assert_array_equal(results[k], ROWS[:40, 0])


def test_evaluate_checks_the_source_before_it_borrows_a_worker():
    with SandboxPool(workers=1) as pool:
        with pytest.raises(UnsafeCodeError):
            pool.evaluate("import os\ndef score(attrs):\n    return 1\n", COLUMNS, ROWS[:5])
        assert pool.worker_pids() == []


def test_a_closed_pool_refuses_evaluate_instead_of_starting_workers():
    pool = SandboxPool(workers=1)
    pool.evaluate(GOOD[0], COLUMNS, ROWS[:5])
    pool.close()
    with pytest.raises(SandboxError):
        pool.evaluate(GOOD[0], COLUMNS, ROWS[:5])
    assert pool.worker_pids() == []


def test_the_default_sandbox_is_one_pool_shared_by_the_process():
    from rewardsmith.sandbox import default_sandbox

    assert default_sandbox() is default_sandbox()
    assert isinstance(default_sandbox(), SandboxPool)
