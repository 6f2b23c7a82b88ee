"""The embedded model's thread count: the cores free now, so a busy core is never waited on."""

from __future__ import annotations

import sys
import types

import pytest

from rewardsmith.lm import threads
from rewardsmith.lm.local import LlamaEngine

STAT = """cpu  {a} 0 {b} {c} 0 0 0 0 0 0
cpu0 {a0} 0 0 {i0} 0 0 0 0 0 0
cpu1 {a1} 0 0 {i1} 0 0 0 0 0 0
intr 123
"""


def stat_file(tmp_path, name, a0, i0, a1, i1):
    path = tmp_path / name
    path.write_text(STAT.format(a=a0 + a1, b=0, c=i0 + i1, a0=a0, i0=i0, a1=a1, i1=i1))
    return path


def test_cpu_times_are_read_per_cpu_without_the_total_line(tmp_path):
    times = threads.read_cpu_times(stat_file(tmp_path, "s", 10, 90, 50, 50))
    assert times == {0: (90, 100), 1: (50, 100)}


def test_a_cpu_busy_with_another_process_is_not_counted_free(tmp_path):
    before = threads.read_cpu_times(stat_file(tmp_path, "b", 0, 0, 0, 0))
    # cpu0 spent the window busy (another process), cpu1 idle.
    after = threads.read_cpu_times(stat_file(tmp_path, "a", 100, 0, 5, 95))
    shares = threads.idle_shares(before, after, [0, 1])
    assert shares == {0: 0.0, 1: 0.95}


def test_one_busy_core_of_two_gives_one_thread():
    assert threads.choose_threads(free=1, cpus=2) == 1


def test_a_fully_busy_machine_still_gets_one_thread():
    assert threads.choose_threads(free=0, cpus=2) == 1


def test_an_idle_machine_gets_a_thread_per_usable_core():
    assert threads.choose_threads(free=8, cpus=2) == 2


def test_the_environment_fixes_the_thread_count(monkeypatch):
    monkeypatch.setenv(threads.ENV_THREADS, "3")
    assert threads.choose_threads(free=0, cpus=2) == 3


def test_a_bad_environment_value_is_ignored(monkeypatch):
    monkeypatch.setenv(threads.ENV_THREADS, "many")
    assert threads.choose_threads(free=1, cpus=2) == 1


def test_without_proc_stat_the_load_average_decides(monkeypatch, tmp_path):
    monkeypatch.setattr(threads, "usable_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.1, 1.0, 1.0))
    assert threads.free_cores(0.0, stat_path=str(tmp_path / "missing")) == 1


def test_free_cores_counts_only_this_process_cpus(monkeypatch, tmp_path):
    monkeypatch.setattr(threads, "usable_cpus", lambda: [1])
    path = stat_file(tmp_path, "s", 0, 0, 0, 0)  # unchanged: no ticks, counted idle
    assert threads.free_cores(0.0, stat_path=str(path)) == 1


@pytest.fixture
def fake_llama_cpp(monkeypatch):
    calls = []
    module = types.SimpleNamespace(llama_set_n_threads=lambda ctx, n, nb: calls.append((n, nb)))
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    return calls


def test_the_engine_sets_llama_threads_only_when_the_count_changes(monkeypatch, fake_llama_cpp):
    engine = LlamaEngine(path="unused.gguf")
    engine.threads_used = 2  # as loaded
    llama = types.SimpleNamespace(ctx="ctx")
    counts = iter([1, 1, 2])
    monkeypatch.setattr("rewardsmith.lm.local.choose_threads", lambda: next(counts))
    for _ in range(3):
        engine._set_threads(llama)
    assert fake_llama_cpp == [(1, 1), (2, 2)]
    assert engine.threads_used == 2


def test_a_fixed_thread_count_is_not_sampled(monkeypatch, fake_llama_cpp):
    engine = LlamaEngine(path="unused.gguf", n_threads=2)
    engine.threads_used = 2
    monkeypatch.setattr("rewardsmith.lm.local.choose_threads",
                        lambda: pytest.fail("sampled although fixed"))
    engine._set_threads(types.SimpleNamespace(ctx="ctx"))
    assert fake_llama_cpp == []
