"""The run-time wall: hostile functions that pass the static check are contained by the worker.

Each case runs in a shared ``Sandbox(timeout_s=1, cpu_s=1)`` and must end in ``SandboxTimeout``,
``SandboxCrash`` or ``SandboxError`` with a clear message; afterwards this process is fine and a
normal function still evaluates correctly in the same sandbox (the worker is restarted where it was
killed). Further tests: no secrets in the worker's environment, no zombie or live worker after a
kill, ``close()`` kills the worker, and the worker's own restrictions (restricted builtins, audit
hook, unevaluated annotations) hold even for code that skips the static check.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from sandbox_helpers import COLUMNS, GOOD, ROWS, body, src
from sandbox_helpers import assert_healthy as assert_good_output

from rewardsmith.sandbox import (
    Sandbox,
    SandboxCrash,
    SandboxError,
    SandboxTimeout,
    ScoringFunction,
    UnsafeCodeError,
    check_source,
)


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=1, cpu_s=1)
    yield sb
    sb.close()


def assert_healthy(sandbox: Sandbox) -> None:
    """The shared check, plus: the worker process is alive after the attack."""
    assert_good_output(sandbox)
    assert sandbox.pid is not None


def pid_is_gone(pid: int) -> bool:
    """No such process: neither running nor a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return not Path(f"/proc/{pid}").exists()
    return False


TIMEOUT = r"timed out after 1 s \(wall clock\); the process was killed"
MEMORY = r"MemoryError: memory limit exceeded"
CPU = r"CPU time limit exceeded; the process was killed"
# A busy loop meets the 1 s wall clock first, but the 1 s CPU limit may win a close race.
BUSY = (SandboxTimeout, SandboxCrash)
BUSY_MESSAGE = f"{TIMEOUT}|{CPU}"

# (source, exception types accepted, regex the message must match)
CONTAINED = [
    pytest.param(body("t = 0", "for i in range(10**12):", "    t += i", "return t"),
                 BUSY, BUSY_MESSAGE, id="busy-loop-range-10e12"),
    pytest.param(body("return max(range(10**12))"), BUSY, BUSY_MESSAGE,
                 id="busy-builtin-max-range"),
    pytest.param(body("return 10**10**10"), (SandboxTimeout, SandboxCrash, SandboxError),
                 f"{TIMEOUT}|{MEMORY}|{CPU}", id="power-tower-10-10-10"),
    pytest.param(src("def down(n):", "    return down(n + 1) + 1", "def score(attrs):",
                     "    return down(0)"), SandboxError, r"RecursionError", id="deep-recursion"),
    pytest.param(src("def bomb(n):", "    try:", "        return bomb(n + 1)",
                     "    except Exception:", "        return bomb(n + 1)",
                     "def score(attrs):", "    return bomb(0)"),
                 BUSY, BUSY_MESSAGE, id="exponential-recursion-swallowing-errors"),
    pytest.param(body("x = [0] * 10**10", "return 1.0"), SandboxError, MEMORY,
                 id="huge-list-allocation"),
    pytest.param(body("x = 'x' * 10**11", "return 1.0"), SandboxError, MEMORY,
                 id="huge-string-allocation"),
    pytest.param(src("BIG = [0] * 10**10", "def score(attrs):", "    return 1.0"),
                 SandboxError, MEMORY, id="module-level-allocation"),
    pytest.param(src("SLOW = sum(range(10**12))", "def score(attrs):", "    return 1.0"),
                 BUSY, BUSY_MESSAGE, id="module-level-busy-loop"),
    pytest.param(body("x = sorted(range(10**12))", "return 1.0"),
                 (SandboxTimeout, SandboxError), f"{TIMEOUT}|{MEMORY}|{CPU}",
                 id="sorted-huge-range"),
    pytest.param(body("return len('%*d' % (10**12, 1))"), (SandboxError, SandboxTimeout),
                 f"{MEMORY}|OverflowError|{TIMEOUT}", id="percent-format-width-bomb"),
    pytest.param(src("import math", "def score(attrs):", "    x = attrs['a']",
                     "    return math.exp(1000 * x)"), SandboxError,
                 r"^line 4: OverflowError: math range error$", id="math-exp-overflow"),
    pytest.param(body("return 'high'"), SandboxError,
                 r"TypeError: score returned str for row 0; it must return a number",
                 id="returns-string"),
    pytest.param(body("x = attrs['a']"), SandboxError,
                 r"score returned NoneType for row 0; it must return a number",
                 id="returns-none"),
    pytest.param(body("return attrs['a'] > 1"), SandboxError,
                 r"score returned bool for row 0; it must return a number", id="returns-bool"),
    pytest.param(body("return '%s' % (attrs,)"), SandboxError,
                 r"score returned str for row 0; it must return a number",
                 id="percent-format-of-attrs"),
    pytest.param(body("return attrs['a'] / (attrs['b'] - 2.0)"), SandboxError,
                 r"^line 2: ZeroDivisionError: float division by zero$",
                 id="division-by-zero"),
    pytest.param(body("return attrs['missing']"), SandboxError, r"^line 2: KeyError: 'missing'$",
                 id="missing-attribute"),
    pytest.param(body("return int('9' * 5000)"), SandboxError,
                 r"^line 2: ValueError: Exceeds the limit \(4300 digits\)", id="int-str-bomb"),
]


@pytest.mark.parametrize("source, kinds, pattern", CONTAINED)
def test_hostile_function_is_contained(sandbox, source, kinds, pattern):
    check_source(source)  # these pass the static wall; the run-time wall must hold
    fn = ScoringFunction(source, COLUMNS, sandbox=sandbox)
    before = sandbox.pid
    started = time.monotonic()
    with pytest.raises(kinds) as info:
        fn.predict(ROWS)
    elapsed = time.monotonic() - started
    assert re.search(pattern, str(info.value)), str(info.value)
    assert elapsed < 5.0  # wall-clock limit 1 s; nothing may hang the caller
    if isinstance(info.value, (SandboxTimeout, SandboxCrash)):
        assert sandbox.pid is None  # the killed worker was dropped ...
        if before is not None:
            assert pid_is_gone(before)  # ... and reaped
    assert_healthy(sandbox)  # a fresh or surviving worker scores normal code correctly


def test_cpu_time_limit_kills_the_worker():
    # Wall-clock limit far away, so the CPU-time limit (RLIMIT_CPU, SIGXCPU) is what stops it.
    with Sandbox(timeout_s=30, cpu_s=1) as sb:
        sb.evaluate(GOOD, COLUMNS, ROWS)
        pid = sb.pid
        source = body("t = 0", "for i in range(10**12):", "    t += i", "return t")
        with pytest.raises(SandboxCrash, match=CPU):
            sb.evaluate(source, COLUMNS, ROWS)
        assert pid_is_gone(pid)
        assert_healthy(sb)


def test_memory_limit_is_the_workers_own():
    # A 64 MB sandbox refuses a 200 MB list that the default 1 GB one allocates without trouble.
    source = body("x = [0.5] * (25 * 10**6)", "return x[-1] + len(x)")
    with Sandbox(timeout_s=10, memory_mb=1024) as roomy:
        assert roomy.evaluate(source, COLUMNS, ROWS[:1])[0] == 0.5 + 25 * 10**6
    with Sandbox(timeout_s=10, memory_mb=64) as tight:
        with pytest.raises(SandboxError, match=MEMORY):
            tight.evaluate(source, COLUMNS, ROWS[:1])
        assert_healthy(tight)


def test_overflowing_int_result_becomes_infinity_not_a_crash(sandbox):
    out = sandbox.evaluate(body("return 10**400 if attrs['b'] > 0 else -(10**400)"), COLUMNS, ROWS)
    assert out[0] == math.inf and out[1] == -math.inf and out[2] == math.inf
    assert_healthy(sandbox)


def test_error_line_points_into_the_helper(sandbox):
    source = src("def helper(x):", "    y = x * 2", "    return y / 0", "",
                 "def score(attrs):", "    return helper(attrs['a'])")
    with pytest.raises(SandboxError) as info:
        sandbox.evaluate(source, COLUMNS, ROWS)
    assert info.value.line == 3
    assert str(info.value) == "line 3: ZeroDivisionError: float division by zero"
    assert_healthy(sandbox)


# -- secrets, processes ------------------------------------------------------------------------

def test_worker_environment_holds_no_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("HF_TOKEN", "hf-test")
    assert os.environ["OPENAI_API_KEY"] == "sk-test"
    with Sandbox(timeout_s=5) as sb:
        assert_healthy(sb)  # starts the worker under the patched environment
        pid = sb.pid
        raw = Path(f"/proc/{pid}/environ").read_bytes()
        env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if item)
        assert set(env) <= {b"PATH", b"LC_ALL"}
        assert b"sk-test" not in raw and b"hf-test" not in raw
        assert b"OPENAI_API_KEY" not in raw

        # Even code that skips the static check and digs os.environ out of the interpreter
        # finds nothing: the worker process itself was started without the parent's variables.
        dig = src(
            "def score(attrs):",
            "    env = [c for c in ().__class__.__bases__[0].__subclasses__()",
            "           if c.__name__ == '_wrap_close'][0].__init__.__globals__['environ']",
            "    return 1000.0 * ('OPENAI_API_KEY' in env) + len(env)",
        )
        out = sb.evaluate(dig, COLUMNS, ROWS[:1], checked=True)
        assert out[0] == len(env) == 2


def test_timeout_leaves_no_zombie_and_no_live_worker():
    with Sandbox(timeout_s=1, cpu_s=5) as sb:
        assert_healthy(sb)
        pid = sb.pid
        assert Path(f"/proc/{pid}").exists()
        with pytest.raises(SandboxTimeout, match=TIMEOUT):
            sb.evaluate(body("return sum(range(10**12))"), COLUMNS, ROWS)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert not Path(f"/proc/{pid}").exists()
        assert_healthy(sb)
        assert sb.pid != pid  # a fresh worker


def test_close_kills_the_worker():
    sb = Sandbox(timeout_s=5)
    assert_healthy(sb)
    pid = sb.pid
    sb.close()
    assert sb.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not Path(f"/proc/{pid}").exists()
    sb.close()  # idempotent
    assert_healthy(sb)  # and usable again: a new worker is started on demand
    new_pid = sb.pid
    sb.close()
    assert pid_is_gone(new_pid)


def test_worker_runs_in_its_own_session_without_site_packages():
    with Sandbox(timeout_s=5) as sb:
        assert_healthy(sb)
        pid = sb.pid
        assert os.getsid(pid) == pid != os.getsid(0)  # its own session and process group
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"-I" in cmdline and b"-S" in cmdline
        assert Path(f"/proc/{pid}/cwd").resolve() == Path("/")


# -- the worker's own wall, for code that never went through the static check -----------------

_OS = ("[c for c in ().__class__.__bases__[0].__subclasses__()"
       " if c.__name__ == '_wrap_close'][0].__init__.__globals__")

SECOND_WALL = [
    pytest.param(body("m = __import__('os')", "return 1.0"),
                 r"^line 2: ImportError: import of 'os' is not allowed$", id="dunder-import-os"),
    pytest.param(src("import socket", "def score(attrs):", "    return 1.0"),
                 r"^line 1: ImportError: import of 'socket' is not allowed$", id="import-socket"),
    pytest.param(body("return eval('1')"), r"NameError: name 'eval' is not defined",
                 id="eval-not-a-builtin"),
    pytest.param(body("return len(open('/etc/passwd').read())"),
                 r"NameError: name 'open' is not defined", id="open-not-a-builtin"),
    pytest.param(body("print('x')", "return 1.0"), r"NameError: name 'print' is not defined",
                 id="print-not-a-builtin"),
    pytest.param(body("return getattr(attrs, 'get')"),
                 r"NameError: name 'getattr' is not defined", id="getattr-not-a-builtin"),
    pytest.param(src("class K:", "    pass", "def score(attrs):", "    return 1.0"),
                 r"NameError: __build_class__ not found", id="class-needs-build-class"),
    pytest.param(body(f"return {_OS}['system']('true')"),
                 r"PermissionError: os.system is not allowed", id="os-system-via-subclasses"),
    pytest.param(body(f"return {_OS}['open']('/etc/passwd', 0)"),
                 r"PermissionError: open is not allowed", id="os-open-via-subclasses"),
    pytest.param(body(f"return len({_OS}['listdir']('/'))"),
                 r"PermissionError: os.listdir is not allowed", id="listdir-via-subclasses"),
    pytest.param(body(f"return {_OS}['fork']()"),
                 r"PermissionError: os.fork is not allowed", id="fork-via-subclasses"),
    pytest.param(body(f"return {_OS}['sys'].modules['builtins'].__import__('socket')"),
                 r"PermissionError: import is not allowed", id="import-socket-via-sys-modules"),
    pytest.param(body(f"return {_OS}['sys'].modules['builtins'].__import__('ctypes')"),
                 r"PermissionError: import is not allowed", id="import-ctypes-via-sys-modules"),
    pytest.param(body(f"return {_OS}['kill']({_OS}['getppid'](), 0)"),
                 r"PermissionError: os.kill is not allowed", id="os-kill-the-parent"),
]


@pytest.mark.parametrize("source, pattern", SECOND_WALL)
def test_worker_restrictions_hold_without_the_static_check(sandbox, source, pattern):
    with pytest.raises(UnsafeCodeError):
        check_source(source)  # the first wall does reject these ...
    with pytest.raises(SandboxError) as info:  # ... and so does the second, on its own
        sandbox.evaluate(source, COLUMNS, ROWS, checked=True)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert_healthy(sandbox)


def test_module_level_annotations_are_never_evaluated(sandbox):
    # Were the annotation evaluated, the module would fail with ZeroDivisionError.
    source = src("X: 1 / 0 = 2.0", "def score(attrs):", "    return X * attrs['a']")
    with pytest.raises(UnsafeCodeError, match="annotations may only be"):
        check_source(source)
    out = sandbox.evaluate(source, COLUMNS, ROWS, checked=True)
    np.testing.assert_array_equal(out, 2.0 * ROWS[:, 0])
