"""The static wall: hostile scoring functions are rejected before they run, with line and reason.

Every case is a separate test (the id names the attack). Each asserts the ``UnsafeCodeError``
from ``check_source``, from ``ScoringFunction(...)`` and from ``Sandbox.evaluate`` (which checks
too), and then that a normal function still evaluates correctly in the same sandbox. Legitimate
functions are accepted and give the numbers plain Python gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sandbox_helpers import COLUMNS, ROWS, assert_healthy, body, src

from rewardsmith.sandbox import Sandbox, ScoringFunction, UnsafeCodeError, check_source


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=5, cpu_s=2)
    yield sb
    sb.close()



# (source, line the message must name (0: none), a meaningful part of the reason)
HOSTILE = [
    pytest.param(src("import os", "def score(attrs):", "    return 1.0"), 1,
                 "import of 'os' is not allowed", id="import-os"),
    pytest.param(body("import subprocess", "return 1.0"), 2,
                 "import of 'subprocess' is not allowed", id="import-subprocess"),
    pytest.param(src("from os import system", "def score(attrs):", "    return 1.0"), 1,
                 "import from 'os' is not allowed", id="from-os-import-system"),
    pytest.param(body("m = __import__('os')", "return 1.0"), 2,
                 "dunder name '__import__'", id="dunder-import-call"),
    pytest.param(src("import math as m", "def score(attrs):", "    return m.sqrt(4)"), 1,
                 "import of 'math' is not allowed; only 'import math' is", id="import-math-as-m"),
    pytest.param(src("import math, os", "def score(attrs):", "    return 1.0"), 1,
                 "import of 'os' is not allowed", id="import-math-comma-os"),
    pytest.param(src("from math import *", "def score(attrs):", "    return pi"), 1,
                 "math has no public name '*'", id="from-math-import-star"),
    pytest.param(src("import math", "def score(attrs):", "    x = math.__loader__",
                     "    return 1.0"), 3, "dunder name '__loader__'", id="math-loader"),
    pytest.param(src("import math", "def score(attrs):",
                     "    return len(math.__dict__.get('sqrt'))"),
                 3, "dunder name '__dict__'", id="math-dict"),
    pytest.param(src("import math", "def score(attrs):", "    return math.system('sh')"), 3,
                 "math has no public name 'system'", id="math-nonexistent-name"),
    pytest.param(body("k = ().__class__.__bases__[0].__subclasses__()", "return 1.0"), 2,
                 "dunder name '__subclasses__'", id="object-subclasses-walk"),
    pytest.param(body("return attrs.__class__"), 2, "dunder name '__class__'",
                 id="attrs-class"),
    pytest.param(body("e = __builtins__['eval']", "return e('1')"), 2,
                 "dunder name '__builtins__'", id="builtins-eval"),
    pytest.param(body("g = getattr(attrs, 'get')", "return 1.0"), 2,
                 "'getattr': reflection is not allowed", id="getattr"),
    pytest.param(body("return eval('1 + 1')"), 2,
                 "'eval': dynamic code execution is not allowed", id="eval"),
    pytest.param(body("x = exec('import os')", "return 1.0"), 2,
                 "'exec': dynamic code execution is not allowed", id="exec"),
    pytest.param(body("c = compile('1', 'f', 'eval')", "return 1.0"), 2,
                 "'compile': dynamic code execution is not allowed", id="compile"),
    pytest.param(body("return len(open('/etc/passwd'))"), 2,
                 "'open': file access is not allowed", id="open-etc-passwd"),
    pytest.param(body("with open('/etc/passwd') as f:", "    return 1.0"), 2,
                 "a with statement is not allowed", id="with-open"),
    pytest.param(body("return len(globals())"), 2, "'globals': reflection is not allowed",
                 id="globals"),
    pytest.param(body("return len(locals())"), 2, "'locals': reflection is not allowed",
                 id="locals"),
    pytest.param(body("return len(vars())"), 2, "'vars': reflection is not allowed", id="vars"),
    pytest.param(body("return len(dir())"), 2, "'dir': reflection is not allowed", id="dir"),
    pytest.param(body("t = type(attrs)", "return 1.0"), 2,
                 "'type': reflection is not allowed", id="type-of-attrs"),
    pytest.param(body("K = type('K', (), {})", "return 1.0"), 2,
                 "'type': reflection is not allowed", id="type-three-arg-class"),
    pytest.param(body("x = setattr(attrs, 'a', 1)", "return 1.0"), 2,
                 "'setattr': reflection is not allowed", id="setattr"),
    pytest.param(body("f = lambda: 1.0", "return f()"), 2, "lambda is not allowed",
                 id="lambda"),
    pytest.param(body("class K:", "    pass", "return 1.0"), 2,
                 "a class definition is not allowed", id="class-in-function"),
    pytest.param(src("class K:", "    pass", "def score(attrs):", "    return 1.0"), 1,
                 "ClassDef at module level", id="class-at-module-level"),
    pytest.param(body("while True:", "    pass", "return 1.0"), 2,
                 "a while loop is not allowed", id="while-true"),
    pytest.param(body("return len('{0.__class__}'.format(attrs))"), 2,
                 "attribute access '.format' is not allowed", id="str-format-attack"),
    pytest.param(body("return len('{a}'.format_map(attrs))"), 2,
                 "attribute access '.format_map' is not allowed", id="str-format-map"),
    pytest.param(body("return len(f'{attrs}')"), 2, "an f-string is not allowed",
                 id="f-string"),
    pytest.param(body("return len(f'{attrs.__class__}')"), 2, "an f-string is not allowed",
                 id="f-string-dunder"),
    pytest.param(body("x = print('x' * 10**10)", "return 1.0"), 2,
                 "printing is not allowed", id="print-gigabytes"),
    pytest.param(body("return len(os.environ.get('OPENAI_API_KEY'))"), 2,
                 "attribute access '.environ' is not allowed", id="os-environ"),
    pytest.param(src("import os", "def score(attrs):", "    return len(os.environ)"), 1,
                 "import of 'os' is not allowed", id="import-os-environ"),
    pytest.param(body("pid = os.fork()", "return 1.0"), 2,
                 "attribute access '.fork' is not allowed", id="os-fork"),
    pytest.param(body("x = os.system('sh')", "return 1.0"), 2,
                 "attribute access '.system' is not allowed", id="os-system"),
    pytest.param(body("s = sys.modules", "return 1.0"), 2,
                 "attribute access '.modules' is not allowed", id="sys-modules"),
    pytest.param(body("x = _io", "return 1.0"), 2, "names starting with '_' are not allowed",
                 id="private-module-name"),
    pytest.param(src("def score(attrs):", "    global W", "    W = 1", "    return 1.0"), 2,
                 "a global statement is not allowed", id="global-statement"),
    pytest.param(src("def score(attrs):", "    x = 1", "    def f():", "        nonlocal x",
                     "        x = 2", "    return 1.0"), 4,
                 "a nonlocal statement is not allowed", id="nonlocal-statement"),
    pytest.param(body("del attrs", "return 1.0"), 2, "del is not allowed", id="del"),
    pytest.param(body("return (n := 5)"), 2, "the walrus operator is not allowed", id="walrus"),
    pytest.param(body("x = yield attrs", "return 1.0"), 2, "yield is not allowed",
                 id="yield-generator"),
    pytest.param(body("yield 1.0"), 2, "a bare expression statement has no effect",
                 id="bare-yield-statement"),
    pytest.param(src("async def score(attrs):", "    return 1.0"), 1,
                 "AsyncFunctionDef at module level", id="async-def"),
    pytest.param(body("try:", "    return 1.0", "except BaseException:", "    return 0.0"), 4,
                 "except clauses may only name", id="except-baseexception"),
    pytest.param(body("try:", "    return 1.0", "except SystemExit:", "    return 0.0"), 4,
                 "except clauses may only name", id="except-systemexit"),
    pytest.param(body("attrs['x'] = 1", "return 1.0"), 2,
                 "only local names may be assigned (no attrs[...] = ...", id="assign-into-attrs"),
    pytest.param(body("attrs['a'] += 1", "return 1.0"), 2,
                 "only local names may be assigned", id="augassign-into-attrs"),
    pytest.param(body("attrs.a = 1", "return 1.0"), 2, "only local names may be assigned",
                 id="setattr-by-assignment"),
    pytest.param(src("def deco(f):", "    return f", "@deco", "def score(attrs):",
                     "    return 1.0"), 4, "decorators are not allowed", id="decorator"),
    pytest.param(body("raise SystemExit(0)"), 2, "raise is not allowed", id="raise-systemexit"),
    pytest.param(body("assert False", "return 1.0"), 2, "assert is not allowed", id="assert"),
    pytest.param(src("def reward(attrs):", "    return 1.0"), 0, "no function named 'score'",
                 id="not-named-score"),
    pytest.param(src("def score(attrs, extra):", "    return 1.0"), 1,
                 "score must take exactly one argument", id="score-two-params"),
    pytest.param(src("def score(*attrs):", "    return 1.0"), 1,
                 "score must take exactly one argument", id="score-varargs"),
    pytest.param(src("def score(attrs):", "    return (1.0 +", ""), 2, "syntax error",
                 id="syntax-error"),
    pytest.param("def score(attrs):\n    return 1.0\x00\n", 0, "null bytes", id="null-bytes"),
    pytest.param("# " + "x" * 10_000_000 + "\ndef score(attrs):\n    return 1.0\n", 0,
                 "characters; keep the function under", id="ten-megabyte-source"),
    pytest.param(src("os.system('sh')", "def score(attrs):", "    return 1.0"), 1,
                 "Expr at module level", id="module-level-call"),
    pytest.param(body("x = breakpoint()", "return 1.0"), 2,
                 "'breakpoint': debugging hooks are not allowed", id="breakpoint"),
    pytest.param(body("x = input()", "return 1.0"), 2, "'input': reading input is not allowed",
                 id="input"),
    pytest.param(body("x = b'\\x00'", "return 1.0"), 2, "bytes constants are not allowed",
                 id="bytes-constant"),
    pytest.param(body("x = '" + "A" * 300 + "'", "return 1.0"), 2,
                 "string constants longer than 200 characters", id="long-string-payload"),
    pytest.param(src("W = {'f': abs}", "def score(attrs):", "    return W['f'](attrs['a'])"), 3,
                 "only named functions may be called", id="call-through-subscript"),
    pytest.param(body("return max(**attrs)"), 2, "**kwargs in calls is not allowed",
                 id="kwargs-unpacking"),
    pytest.param(body("t = 0", "for x in iter(attrs):", "    t += 1", "return t"), 3,
                 "loops may only run over", id="loop-over-arbitrary-call"),
    pytest.param(body("try:", "    return 1.0", "except ValueError as __e:", "    return 0.0"),
                 4, "dunder name '__e'", id="except-as-dunder"),
    pytest.param(src("def helper(x=().__class__):", "    return 1.0", "def score(attrs):",
                     "    return helper()"), 1, "dunder name '__class__'",
                 id="dunder-in-default-argument"),
    pytest.param(src("def helper(x: __import__('os')):", "    return 1.0", "def score(attrs):",
                     "    return helper(1)"), 1, "annotations may only be float, int",
                 id="call-in-parameter-annotation"),
    # A module-level annotation runs when the module runs; this one used to slip through.
    pytest.param(src("X: ().__class__.__bases__[0].__subclasses__() = 1", "def score(attrs):",
                     "    return 1.0"), 1, "annotations may only be float, int",
                 id="module-level-annotation-escape"),
    # A parameter named like a forbidden builtin must not license that builtin elsewhere.
    pytest.param(src("def helper(open):", "    return open", "def score(attrs):",
                     "    return len(open('/etc/passwd'))"), 4,
                 "'open': file access is not allowed", id="shadowed-open-in-other-function"),
    pytest.param(src("def helper():", "    eval = 1", "    return eval", "def score(attrs):",
                     "    return eval('1')"), 5, "'eval': dynamic code execution",
                 id="shadowed-eval-in-other-function"),
    pytest.param(body("xs = [1 for exec in attrs]", "return exec('1')"), 3,
                 "'exec': dynamic code execution", id="comprehension-variable-leak"),
    pytest.param(body("match attrs:", "    case _:", "        return 1.0"), 2,
                 "a match statement is not allowed", id="match-statement"),
    pytest.param(body("return " + "-" * 15_000 + "1"), 0, "cannot parse source",
                 id="parser-bomb-unary"),
    pytest.param(body("return 1" + "+1" * 9_000), 0, "cannot parse source",
                 id="parser-bomb-binop"),
    pytest.param(body("return " + "(" * 5_000 + "1" + ")" * 5_000), 2,
                 "too many nested parentheses", id="parser-bomb-parentheses"),
]


@pytest.mark.parametrize("source, line, reason", HOSTILE)
def test_hostile_source_is_rejected(sandbox, source, line, reason):
    with pytest.raises(UnsafeCodeError) as info:
        check_source(source)
    err = info.value
    message = str(err)
    assert reason in message
    assert err.line == line
    if line:
        assert message.startswith(f"line {line}: ")
    else:
        assert not message.startswith("line ")

    # The same refusal through the public constructor and through the sandbox's own check.
    with pytest.raises(UnsafeCodeError) as again:
        ScoringFunction(source)
    assert str(again.value) == message
    with pytest.raises(UnsafeCodeError) as via_sandbox:
        sandbox.evaluate(source, COLUMNS, ROWS)
    assert str(via_sandbox.value) == message

    # Nothing broke: this process is fine and the sandbox still scores a normal function.
    assert_healthy(sandbox)


def test_non_string_source_is_rejected():
    with pytest.raises(UnsafeCodeError, match="source must be a string, got bytes"):
        check_source(b"def score(attrs):\n    return 1.0\n")


def test_rejection_message_tells_the_model_what_is_allowed():
    with pytest.raises(UnsafeCodeError) as info:
        check_source(body("f = lambda: 1.0", "return f()"))
    message = str(info.value)
    assert "attrs.get(...)" in message and "math.*" in message and "sorted" in message


# -- legitimate functions ----------------------------------------------------------------------

WEIGHTED = src(
    '"""Weighted sum with a length penalty."""',
    "import math",
    "",
    "WEIGHTS = {'a': 0.5, 'b': -1.25}",
    "",
    "def score(attrs):",
    "    total = 0.0",
    "    for k, w in WEIGHTS.items():",
    "        total += w * attrs.get(k, 0.0)",
    "    return total",
)

LEGIT = [
    pytest.param(WEIGHTED, lambda a, b: 0.5 * a - 1.25 * b, id="weights-dict-items-loop"),
    pytest.param(
        body("vals = [attrs[k] for k in sorted(attrs) if attrs[k] > 0]",
             "return sum(vals) + len({k: 1 for k in attrs})"),
        lambda a, b: sum(v for v in (a, b) if v > 0) + 2, id="comprehensions"),
    pytest.param(body("return attrs.get('missing', 10.0) + attrs.get('a')"),
                 lambda a, b: 10.0 + a, id="attrs-get-with-default"),
    pytest.param(
        src("import math", "def score(attrs):",
            "    return math.log1p(abs(attrs['a'])) + math.tanh(attrs['b']) * math.sqrt(2)"),
        lambda a, b: math.log1p(abs(a)) + math.tanh(b) * math.sqrt(2), id="math-functions"),
    pytest.param(
        src("from math import exp, pi", "def score(attrs):",
            "    return exp(-attrs['a']) + pi"),
        lambda a, b: math.exp(-a) + math.pi, id="from-math-import-names"),
    pytest.param(
        src("def clip(x, lo=0.0, hi=2.0):", "    return max(lo, min(hi, x))", "",
            "def score(attrs):", "    return clip(attrs['a']) - clip(attrs['b'], hi=1.0)"),
        lambda a, b: max(0.0, min(2.0, a)) - max(0.0, min(1.0, b)), id="helper-function"),
    pytest.param(
        body("try:", "    r = attrs['a'] / (attrs['b'] - 2.0)",
             "except ZeroDivisionError:", "    r = 0.0",
             "except (ValueError, KeyError):", "    r = -1.0", "return r"),
        lambda a, b: 0.0 if b == 2.0 else a / (b - 2.0), id="try-except-specific"),
    pytest.param(
        src("PARAMS = {'w': 3.0, 'bias': -0.5}", "def score(attrs):",
            "    return PARAMS['w'] * attrs['a'] + PARAMS['bias']"),
        lambda a, b: 3.0 * a - 0.5, id="params"),
    pytest.param(
        body("if attrs['a'] > 1 and not attrs['b'] < 0:", "    return 1.0",
             "elif attrs['a'] > 1:", "    return 2.0 if attrs['b'] < -0.5 else 3.0",
             "return -1.0"),
        lambda a, b: 1.0 if a > 1 and not b < 0 else
        ((2.0 if b < -0.5 else 3.0) if a > 1 else -1.0), id="if-elif-else"),
    pytest.param(
        src("W: dict = {'a': 2}", "def score(attrs: dict) -> float:",
            "    n: int = 0", "    for i, k in enumerate(['a', 'b']):",
            "        n += (i + 1) * attrs[k] * W.get(k, 1)", "    return n"),
        lambda a, b: 2 * a + 2 * b, id="annotations-plain-names"),
    pytest.param(
        src("def score(attrs):", "    type = attrs.get('b')", "    return type * 2"),
        lambda a, b: 2 * b, id="local-variable-named-like-builtin"),
    pytest.param(
        src("def score(attrs):", "    def inner(x):", "        return x * attrs['b']",
            "    return inner(attrs['a'])"),
        lambda a, b: a * b, id="nested-function-closure"),
]


@pytest.mark.parametrize("source, expected", LEGIT)
def test_legitimate_function_is_accepted_and_correct(sandbox, source, expected):
    check_source(source)  # no exception
    fn = ScoringFunction(source, COLUMNS, sandbox=sandbox)
    want = np.array([expected(a, b) for a, b in ROWS])
    got = fn.predict(ROWS)
    assert got.dtype == np.float64 and got.shape == (len(ROWS),)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
