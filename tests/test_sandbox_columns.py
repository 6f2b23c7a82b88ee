"""Column mode of the sandbox worker (``Sandbox(columns=True)``, ``evaluate_columns``).

What it must do: arithmetic on whole columns gives the row path's values; whatever does not act on
arrays as on floats raises (so the caller scores row by row); and the walls hold: no import of
numpy or anything else, no attribute escape even for code that skips the static check, the audit
hook, the memory limit and the empty environment are still there, and the default worker never
loads numpy.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sandbox_helpers import COLUMNS, GOOD, ROWS, body, src

from rewardsmith.sandbox import Sandbox, SandboxError, UnsafeCodeError, check_source
from rewardsmith.sandbox.runner import Rows


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=5, cpu_s=5, columns=True)
    yield sb
    sb.close()


def packed(matrix=ROWS, columns=COLUMNS) -> Rows:
    return Rows.pack(columns, np.asarray(matrix, dtype=np.float64))


def by_rows(sandbox, source, matrix=ROWS):
    return sandbox.evaluate_packed(source, packed(matrix))


def assert_healthy(sandbox):
    np.testing.assert_array_equal(sandbox.evaluate_columns(GOOD, packed()), [0.0, 7.0, 0.75])
    np.testing.assert_array_equal(by_rows(sandbox, GOOD), [0.0, 7.0, 0.75])


# -- same values as the row path -----------------------------------------------------------------

def test_arithmetic_on_columns_gives_the_row_values_to_the_bit(sandbox):
    source = src("W = {'a': 1.5, 'b': -0.25}", "def score(attrs):", "    total = 0.0",
                 "    for name, w in W.items():", "        total += w * attrs[name]",
                 "    return total - attrs['a'] ** 2 / 3 + abs(attrs['b']) // 1 % 2")
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()),
                                  by_rows(sandbox, source))


def test_math_functions_on_columns_match_the_row_values(sandbox):
    source = src("import math", "def score(attrs):",
                 "    a, b = attrs['a'], attrs['b']",
                 "    return (math.log1p(abs(a)) + math.sqrt(b * b) + math.tanh(a)"
                 " + math.log(b * b + 1, 2) + math.exp(-a) + math.floor(a) + math.pi)")
    np.testing.assert_allclose(sandbox.evaluate_columns(source, packed()),
                               by_rows(sandbox, source), rtol=1e-12)


def test_hinges_with_max_and_min_run_on_columns_to_the_row_values(sandbox):
    # the selected terms' forms: max(x - c, 0), min(x - c, 0), log1p(max(x, 0)), several at once
    source = src("import math", "def score(attrs):",
                 "    a, b = attrs['a'], attrs['b']",
                 "    return (0.7 * max(a - 1.0, 0.0) - 0.3 * min(b - 2.0, 0.0)",
                 "            + math.log1p(max(a, 0.0)) + max(a, b, 1.5) - min(0.0, a, b))")
    matrix = np.random.default_rng(0).uniform(-3, 3, size=(500, 2))
    # to the bit but for log1p, whose numpy twin may differ from math's in the last place
    np.testing.assert_allclose(sandbox.evaluate_columns(source, packed(matrix)),
                               by_rows(sandbox, source, matrix), rtol=1e-15, atol=0)


def test_max_and_min_of_columns_keep_pythons_pick_on_ties_signed_zeros_and_nan(sandbox):
    # Python keeps the first of equal values (max(-0.0, 0.0) is -0.0) and walks NaN as it comes;
    # np.maximum would not. copysign makes the sign of a zero visible in the score.
    source = src("import math", "def score(attrs):",
                 "    return (math.copysign(1.0, max(attrs['a'], attrs['b']))",
                 "            + 10 * math.copysign(1.0, min(attrs['b'], attrs['a'])))")
    matrix = [[-0.0, 0.0], [0.0, -0.0], [2.0, 2.0], [-1.0, 3.0]]
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed(matrix)),
                                  by_rows(sandbox, source, matrix))
    picks = body("return max(attrs['a'], attrs['b']) + 10 * min(attrs['a'], attrs['b'])")
    with_nan = [[float("nan"), 1.0], [1.0, float("nan")]]
    per_row = [max(a, b) + 10 * min(a, b) for a, b in with_nan]
    np.testing.assert_array_equal(sandbox.evaluate_columns(picks, packed(with_nan)), per_row)


def test_a_max_result_changed_in_place_leaves_its_other_names_alone(sandbox):
    source = body("t = max(attrs['a'], 0.0)", "u = t", "u += 1.0", "return t + u")
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()),
                                  by_rows(sandbox, source))


def test_conditional_expressions_on_columns_pick_row_by_row_to_the_row_values(sandbox):
    source = body("a, b = attrs['a'], attrs['b']",
                  "t = a - 1.0 if a > b else (2.0 * b if b > 0 else -b)",
                  "return t + (0.5 if a == 0 else 0.0)")
    matrix = np.random.default_rng(2).integers(-3, 4, size=(400, 2)).astype(float)
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed(matrix)),
                                  by_rows(sandbox, source, matrix))


def test_a_conditional_on_a_plain_value_runs_only_the_chosen_side(sandbox):
    # per row the other side never runs; in column mode it must not either (it would raise)
    source = src("W = {'on': 1.0}", "def score(attrs):",
                 "    return attrs['a'] if W['on'] > 0 else attrs['no_such_column']")
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()),
                                  by_rows(sandbox, source))


def test_a_side_that_raises_for_some_rows_raises_in_column_mode(sandbox):
    # both sides run on every row; the caller then scores the rows concerned row by row
    source = src("import math", "def score(attrs):",
                 "    return math.log(attrs['a']) if attrs['a'] > 0 else 0.0")
    with pytest.raises(SandboxError, match="FloatingPointError"):
        sandbox.evaluate_columns(source, packed([[-1.0, 0.0], [2.0, 0.0]]))


def test_a_constant_result_is_broadcast_to_every_row(sandbox):
    np.testing.assert_array_equal(sandbox.evaluate_columns(body("return 3"), packed()),
                                  [3.0, 3.0, 3.0])


def test_in_place_operators_do_not_change_other_names_or_the_input(sandbox):
    # Per row `t += 1` rebinds t; an in-place array add would also change attrs['a'].
    source = body("t = attrs['a']", "t += 1.0", "u = t", "u *= 2.0", "return t + attrs['a']")
    expected = by_rows(sandbox, source)
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()), expected)
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()), expected)


@pytest.mark.parametrize("expression, flag", [
    ("attrs['b'] / (attrs['a'] - 1.0)", "divide by zero"),
    ("math.log(attrs['b'] + 1.0)", "divide by zero"),
    ("math.sqrt(attrs['b'])", "invalid value"),
    ("math.tanh(1.0 / (attrs['a'] - 1.0))", "divide by zero"),  # a squashed inf: still caught
    ("math.exp(attrs['a'] * 1000.0)", "overflow"),
])
def test_where_a_float_would_raise_numpy_raises_too(sandbox, expression, flag):
    # Row 0 has a = 1, row 1 b = -1: each expression raises there in plain Python. The caller
    # then finds those rows and scores them row by row.
    source = src("import math", "def score(attrs):", f"    return {expression}")
    with pytest.raises(SandboxError, match=f"FloatingPointError: {flag}"):
        sandbox.evaluate_columns(source, packed())
    np.testing.assert_allclose(sandbox.evaluate_columns(source, packed(ROWS[2:])),
                               by_rows(sandbox, source, ROWS[2:]), rtol=1e-12)


def test_underflow_to_zero_is_no_error(sandbox):
    source = src("import math", "def score(attrs):", "    return math.exp(-1000.0 * attrs['a'])")
    np.testing.assert_array_equal(sandbox.evaluate_columns(source, packed()),
                                  by_rows(sandbox, source))


def test_a_function_reading_no_attribute_scores_every_row(sandbox):
    empty = Rows.pack([], np.empty((4, 0)))
    np.testing.assert_array_equal(sandbox.evaluate_columns(body("return 2.0"), empty), [2.0] * 4)
    np.testing.assert_array_equal(sandbox.evaluate_packed(body("return 2.0"), empty), [2.0] * 4)
    with Sandbox(timeout_s=5) as plain:  # the default worker too
        np.testing.assert_array_equal(plain.evaluate_packed(body("return 2.0"), empty), [2.0] * 4)


# -- what does not act on arrays as on floats raises ----------------------------------------------

NOT_COLUMNS = [
    pytest.param(body("if attrs['a'] > 1:", "    return 1.0", "return 0.0"),
                 "truth value of an array", id="if-on-a-column"),
    pytest.param(body("return max([attrs['a'], attrs['b']])"), "truth value of an array",
                 id="max-of-one-list"),
    pytest.param(body("return max(attrs['a'])"), "cannot be iterated", id="max-of-a-column"),
    pytest.param(body("return max(attrs['a'], attrs['b'], key=abs)"), "truth value of an array",
                 id="max-with-a-key"),
    pytest.param(body("return attrs['a'] > 0 and attrs['b'] or 0.0"), "truth value of an array",
                 id="and-or"),
    pytest.param(body("return attrs['a'] > 0"), "array of bool", id="returns-bools"),
    pytest.param(body("return 'x'"), "score returned str", id="returns-text"),
    pytest.param(body("return float(len(attrs['a']))"), "no length", id="len-of-a-column"),
    pytest.param(body("return float(len(str(attrs['a'])))"), "str\\(\\) of a column",
                 id="str-of-a-column"),
    pytest.param(body("return float(len('%s' % (attrs['a'],)))"), "no text",
                 id="percent-format-of-a-column"),
    pytest.param(body("return 1.0 * isinstance(attrs['a'], float)"), "isinstance\\(\\)",
                 id="isinstance-of-a-column"),
    pytest.param(body("return round(attrs['a'], 2)"), "round\\(column, ndigits\\)",
                 id="round-to-digits"),
    pytest.param(body("return 1.0 * (0.5 in attrs['a'])"), "cannot be searched",
                 id="in-a-column"),
    pytest.param(body("t = 0.0", "col = attrs['a']", "for v in col:", "    t += v", "return t"),
                 "cannot be iterated", id="loop-over-a-column"),
    pytest.param(src("import math", "def score(attrs):", "    return math.factorial(attrs['a'])"),
                 "has no attribute 'factorial'", id="math-function-without-a-ufunc"),
]


@pytest.mark.parametrize("source, pattern", NOT_COLUMNS)
def test_what_is_not_arithmetic_on_columns_raises(sandbox, source, pattern):
    check_source(source)  # all of these are valid scoring functions
    with pytest.raises(SandboxError) as info:
        sandbox.evaluate_columns(source, packed())
    assert re.search(pattern, str(info.value)), str(info.value)
    assert_healthy(sandbox)


def test_evaluate_columns_needs_a_column_sandbox():
    with Sandbox(timeout_s=5) as plain, pytest.raises(SandboxError, match="no column mode"):
        plain.evaluate_columns(GOOD, packed())


# -- the walls ------------------------------------------------------------------------------------

_OS = ("[c for c in ().__class__.__bases__[0].__subclasses__()"
       " if c.__name__ == '_wrap_close'][0].__init__.__globals__")

ESCAPES = [
    pytest.param(src("import numpy", "def score(attrs):", "    return 1.0"),
                 r"import of 'numpy' is not allowed", id="import-numpy"),
    pytest.param(body("np = __import__('numpy')", "return 1.0"),
                 r"ImportError: import of 'numpy' is not allowed", id="dunder-import-numpy"),
    pytest.param(body("return 1.0 * (open('/etc/passwd') is None)"),
                 r"NameError: name 'open' is not defined", id="open-is-not-a-builtin"),
    pytest.param(body(f"return {_OS}['open']('/etc/passwd', 0)"),
                 r"PermissionError: attribute \.__\w+__ is not allowed in column mode",
                 id="open-via-subclasses"),
    pytest.param(body("g = (x for x in [1])", "return g.gi_frame.f_back.f_globals['os']"),
                 r"attribute \.gi_frame is not allowed", id="generator-frame-walk"),
    pytest.param(body("attrs['a'].tofile('/tmp/rewardsmith-escape')", "return 1.0"),
                 r"attribute \.tofile is not allowed", id="array-tofile"),
    pytest.param(body("return attrs['a'].ctypes.data"), r"attribute \.ctypes is not allowed",
                 id="array-ctypes-pointer"),
    pytest.param(body("return len('{0.__class__}'.format(attrs['a']))"),
                 r"attribute \.format is not allowed", id="format-string-attribute"),
    pytest.param(src("X = ().__class__", "def score(attrs):", "    return 1.0"),
                 r"attribute \.__class__ is not allowed", id="module-level-escape"),
]


@pytest.mark.parametrize("source, pattern", ESCAPES)
def test_column_mode_holds_without_the_static_check(sandbox, source, pattern):
    with pytest.raises(UnsafeCodeError):
        check_source(source)  # the first wall rejects these ...
    with pytest.raises(SandboxError) as info:  # ... and column mode does on its own
        sandbox.evaluate_columns(source, packed())
    assert re.search(pattern, str(info.value)), str(info.value)
    assert not Path("/tmp/rewardsmith-escape").exists()
    assert_healthy(sandbox)


def test_the_audit_hook_still_holds_in_a_column_worker(sandbox):
    # Row calls on a column worker are not gated: the audit hook is what stops them.
    with pytest.raises(SandboxError, match="PermissionError: open is not allowed"):
        sandbox.evaluate_packed(body(f"return {_OS}['open']('/etc/passwd', 0)"), packed())
    with pytest.raises(SandboxError, match="PermissionError: import is not allowed"):
        sandbox.evaluate_packed(
            body(f"return {_OS}['sys'].modules['builtins'].__import__('socket')"), packed())
    assert_healthy(sandbox)


NUMPY_LOADED = body(f"return 1.0 * ('numpy' in {_OS}['sys'].modules)")


def test_only_a_column_worker_loads_numpy(sandbox):
    assert by_rows(sandbox, NUMPY_LOADED)[0] == 1.0
    with Sandbox(timeout_s=5) as plain:
        assert plain.evaluate_packed(NUMPY_LOADED, packed())[0] == 0.0


def test_column_worker_environment_holds_no_secrets(sandbox, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with Sandbox(timeout_s=5, columns=True) as sb:
        assert_healthy(sb)
        raw = Path(f"/proc/{sb.pid}/environ").read_bytes()
        env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if item)
        assert set(env) <= {b"PATH", b"LC_ALL"} and b"sk-test" not in raw


def test_column_worker_keeps_its_memory_limit():
    # numpy is imported before the limit; the limit still stops a big allocation, and a table of
    # 200,000 rows is scored within 1 GiB.
    big = packed(np.random.default_rng(0).normal(size=(200_000, 2)))
    with Sandbox(timeout_s=10, columns=True, memory_mb=1024) as sb:
        out = sb.evaluate_columns(body("return attrs['a'] * 2.0 - attrs['b']"), big)
        assert out.shape == (200_000,)
        with pytest.raises(SandboxError, match="MemoryError"):
            sb.evaluate_columns(body("x = [0.5] * (10**10)", "return 1.0"), packed())
        with pytest.raises(SandboxError, match="MemoryError"):
            sb.evaluate_columns(body("x = [attrs['a'] * 1.0 for i in range(10**4)]",
                                     "return 1.0"), big)  # 16 GB of numpy arrays
        assert_healthy(sb)


def test_a_dropped_table_is_shipped_again_on_the_next_call(sandbox):
    rows = packed()
    first = sandbox.evaluate_columns(GOOD, rows)
    sandbox.drop(rows)
    sandbox.drop(rows)  # twice: a no-op
    np.testing.assert_array_equal(sandbox.evaluate_columns(GOOD, rows), first)
    np.testing.assert_array_equal(sandbox.evaluate_packed(GOOD, rows), first)
