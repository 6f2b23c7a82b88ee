"""How many threads the embedded model may use: the cores that are free now, not all of them.

llama.cpp splits every matrix product across its threads and waits for the slowest at a barrier,
hundreds of times per token. When another process holds one of two cores, the thread on that core
gets a slice of it and every barrier waits for that slice: a 60 s call of ``make demo`` took
850 s. One thread fewer than the cores that are busy elsewhere never waits on a shared core.

``free_cores`` samples the per-CPU counters of ``/proc/stat`` over a short window, for the CPUs
this process may run on (its affinity), and counts a CPU free when it was idle most of the window.
Where there is no ``/proc/stat`` it falls back to the load average.
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger(__name__)

#: Set this to a number to fix the thread count (no sampling).
ENV_THREADS = "REWARDSMITH_LM_THREADS"
#: A CPU counts as free when it was idle at least this share of the window.
FREE_IF_IDLE = 0.6


def usable_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def read_cpu_times(path: str = "/proc/stat") -> dict[int, tuple[int, int]]:
    """{cpu: (idle ticks, total ticks)} from a ``/proc/stat`` text."""
    times = {}
    with open(path, encoding="ascii") as handle:
        for line in handle:
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            ticks = [int(f) for f in fields[:8]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
            times[int(name[3:])] = (idle, sum(ticks))
    return times


def idle_shares(before: dict, after: dict, cpus: list[int]) -> dict[int, float]:
    """Each CPU's idle share between two ``read_cpu_times`` samples."""
    shares = {}
    for cpu in cpus:
        if cpu not in before or cpu not in after:
            continue
        idle = after[cpu][0] - before[cpu][0]
        total = after[cpu][1] - before[cpu][1]
        shares[cpu] = idle / total if total > 0 else 1.0
    return shares


def free_cores(window_s: float = 0.3, *, stat_path: str = "/proc/stat") -> int:
    """How many of this process's CPUs were mostly idle over the last ``window_s`` seconds."""
    cpus = usable_cpus()
    try:
        before = read_cpu_times(stat_path)
        time.sleep(window_s)
        after = read_cpu_times(stat_path)
    except (OSError, ValueError, IndexError):
        try:
            busy = os.getloadavg()[0]
        except OSError:
            return len(cpus)
        return max(0, len(cpus) - round(busy))
    shares = idle_shares(before, after, cpus)
    return sum(share >= FREE_IF_IDLE for share in shares.values())


def choose_threads(free: int | None = None, cpus: int | None = None) -> int:
    """Threads for the next LM call: the free cores (at least 1, at most the usable CPUs), or
    ``$REWARDSMITH_LM_THREADS`` when set."""
    fixed = os.environ.get(ENV_THREADS, "").strip()
    if fixed.isdigit() and int(fixed) > 0:
        return int(fixed)
    cpus = len(usable_cpus()) if cpus is None else cpus
    free = free_cores() if free is None else free
    return max(1, min(cpus, free))
