"""``ScoringFunction``: every input shape, standalone export, fitted constants, PARAMS rewriting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rewardsmith.sandbox import (
    Sandbox,
    ScoringFunction,
    UnsafeCodeError,
    declared_params,
    fit_params,
    render_standalone,
    replace_params,
    strip_main_block,
)

ATTRS = ["length", "clarity", "errors"]

SOURCE = '''"""Prefer clear answers of moderate length; punish errors."""
import math

WEIGHTS = {"clarity": 1.5, "errors": -2.0}


def length_term(n):
    return -abs(math.log1p(n) - math.log1p(120.0))


def score(attrs):
    total = length_term(attrs.get("length", 0.0))
    for k, w in WEIGHTS.items():
        total += w * attrs[k]
    if attrs["errors"] > 2:
        total -= 1.0
    else:
        total += 0.25 * math.sqrt(attrs["clarity"])
    return total
'''


def numpy_formula(length, clarity, errors):
    """The same function written with numpy, for comparison."""
    total = -np.abs(np.log1p(length) - np.log1p(120.0)) + 1.5 * clarity - 2.0 * errors
    return np.where(errors > 2, total - 1.0, total + 0.25 * np.sqrt(clarity))


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=30)
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(7)
    n = 200
    return pd.DataFrame({
        "id": [f"item-{i}" for i in range(n)],  # not an attribute: ignored
        "length": rng.integers(1, 600, n).astype(float),
        "clarity": rng.uniform(0, 1, n),
        "errors": rng.integers(0, 6, n).astype(float),
    })


@pytest.fixture(scope="module")
def fn(sandbox):
    return ScoringFunction(SOURCE, ATTRS, name="llm-1", sandbox=sandbox)


def expected(table: pd.DataFrame) -> np.ndarray:
    return numpy_formula(*(table[c].to_numpy() for c in ATTRS))


def test_call_on_a_dict(fn):
    attrs = {"length": 50.0, "clarity": 0.64, "errors": 1.0}
    want = float(numpy_formula(np.array(50.0), np.array(0.64), np.array(1.0)))
    assert fn(attrs) == pytest.approx(want, rel=1e-12)
    attrs_bad = {"length": 50.0, "clarity": 0.64, "errors": 4.0}
    assert fn(attrs_bad) == pytest.approx(want - 6.0 - 1.0 - 0.2, rel=1e-12)


def test_predict_on_a_dataframe(fn, table):
    got = fn.predict(table)
    assert got.shape == (len(table),) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected(table), rtol=1e-12, atol=1e-12)


def test_predict_on_a_dataframe_picks_columns_by_name(sandbox, table):
    # No attribute list: every numeric column is shipped; column order does not matter.
    shuffled = table[["errors", "id", "clarity", "length"]]
    got = ScoringFunction(SOURCE, sandbox=sandbox).predict(shuffled)
    np.testing.assert_allclose(got, expected(table), rtol=1e-12, atol=1e-12)


def test_predict_on_a_dataframe_missing_a_column(fn, table):
    with pytest.raises(KeyError, match="lacks columns the function expects: \\['errors'\\]"):
        fn.predict(table.drop(columns=["errors"]))


def test_predict_on_a_2d_array_with_names(sandbox, table):
    matrix = table[ATTRS].to_numpy()
    f = ScoringFunction(SOURCE, sandbox=sandbox)
    np.testing.assert_allclose(f.predict(matrix, ATTRS), expected(table), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="needs attribute names"):
        f.predict(matrix)
    with pytest.raises(ValueError, match="needs attribute names"):
        f.predict(matrix, ATTRS[:2])


def test_predict_on_a_row_table(fn, table):
    rows = SimpleNamespace(X=table[ATTRS].to_numpy(), attributes=ATTRS, y=None)
    np.testing.assert_allclose(fn.predict(rows), expected(table), rtol=1e-12, atol=1e-12)


def test_scoring_function_checks_its_source():
    with pytest.raises(UnsafeCodeError, match="line 1: import of 'os' is not allowed"):
        ScoringFunction("import os\ndef score(attrs):\n    return 1.0\n")


def test_str_is_the_source(fn):
    assert str(fn) == SOURCE and fn.source == SOURCE and fn.name == "llm-1"
    assert fn.params == {}


# -- export ------------------------------------------------------------------------------------

def base_python() -> str:
    """The interpreter the venv was made from: no numpy, no pandas, no rewardsmith."""
    for name in ("python3", "python"):
        candidate = Path(sys.base_prefix) / "bin" / name
        if candidate.exists():
            return str(candidate)
    return sys.executable


def test_export_runs_with_plain_python(fn, table, tmp_path):
    path = fn.export(tmp_path / "out" / "reward.py", header="Fitted on the test table.\nv1")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Fitted on the test table.\n# v1\n")
    assert "rewardsmith" not in text.replace("# Written by rewardsmith", "")
    assert not list(path.parent.glob(".*.tmp"))  # the temporary file was renamed away
    csv = tmp_path / "items.csv"
    table.to_csv(csv, index=False)

    proc = subprocess.run(
        [base_python(), "-I", "-S", str(path), str(csv)],
        env={}, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    printed = np.array([float(line) for line in proc.stdout.split()])
    assert len(printed) == len(table)
    np.testing.assert_array_equal(printed, fn.predict(table))  # the very same numbers
    np.testing.assert_allclose(printed, expected(table), rtol=1e-12, atol=1e-12)


def test_export_adds_import_math_only_when_missing():
    bare = "def score(attrs):\n    return attrs['a']\n"
    assert "import math  # noqa: F401" in render_standalone(bare)
    assert render_standalone(SOURCE).count("import math") == 1


def test_from_file_round_trips_an_export(fn, table, tmp_path, sandbox):
    path = fn.export(tmp_path / "reward.py")
    back = ScoringFunction.from_file(path, attributes=ATTRS, sandbox=sandbox)
    assert SOURCE.strip() in back.source
    assert "__main__" not in back.source and "csv" not in back.source
    np.testing.assert_array_equal(back.predict(table), fn.predict(table))
    # and again: an export of the re-read function is the same file
    again = back.export(tmp_path / "reward2.py", header="second export")
    text = again.read_text(encoding="utf-8")
    assert text.count("# Written by rewardsmith") == 1  # headers do not pile up
    assert text.startswith("# second export\n# Written by rewardsmith")
    reread = ScoringFunction.from_file(again).source
    assert reread.split("\n", 2)[2] == back.source.split("\n", 1)[1]


def test_from_file_still_checks_what_remains(tmp_path):
    path = tmp_path / "evil.py"
    path.write_text(
        "import os\n\ndef score(attrs):\n    return 1.0\n\n"
        "if __name__ == '__main__':\n    os.system('true')\n",
        encoding="utf-8",
    )
    with pytest.raises(UnsafeCodeError, match="line 1: import of 'os' is not allowed"):
        ScoringFunction.from_file(path)


def test_strip_main_block_counts_lines_like_python():
    # A form feed in a comment is not a line break for Python (str.splitlines thinks it is).
    text = ("# section\x0c break\ndef score(attrs):\n    return 1.0\n\n"
            "if __name__ == '__main__':\n    print(score({}))\n")
    assert strip_main_block(text) == "# section\x0c break\ndef score(attrs):\n    return 1.0\n\n"


# -- fitted constants --------------------------------------------------------------------------

LINEAR = '''PARAMS = {"w_a": 1.0, "w_b": 5.0}

def score(attrs):
    # a linear form; the weights are fitted
    return PARAMS["w_a"] * attrs["a"] + PARAMS["w_b"] * attrs["b"]
'''


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = 3.0 * X[:, 0] + 1.0 * X[:, 1] + 0.1 * rng.normal(size=400)  # true ratio w_a / w_b = 3
    return X, y


def test_fit_params_improves_a_bad_start(sandbox, synthetic):
    X, y = synthetic
    f = ScoringFunction(LINEAR, ["a", "b", "c"], sandbox=sandbox)
    fitted, result = f.fit_params(X, y)
    assert result.improved
    assert result.rho_after > result.rho_before + 0.3
    assert result.rho_before == pytest.approx(_spearman(f.predict(X), y))
    assert result.rho_after == pytest.approx(_spearman(fitted.predict(X), y))
    ratio = result.params["w_a"] / result.params["w_b"]
    assert ratio == pytest.approx(3.0, rel=0.1)
    assert 1 < result.evaluations <= 300

    # The values are written back into the source, which stays plain readable Python.
    assert fitted.source == result.source != LINEAR
    for value in result.params.values():
        assert repr(value) in fitted.source
    assert declared_params(fitted.source) == result.params
    assert fitted.params == result.params
    assert "# a linear form; the weights are fitted" in fitted.source
    assert fitted.source.split("\n", 1)[1] == LINEAR.split("\n", 1)[1]  # only line 1 changed


def test_fit_params_via_function_on_a_table(sandbox, synthetic):
    X, y = synthetic
    rows = SimpleNamespace(X=X, attributes=["a", "b", "c"], y=y)
    fitted, result = ScoringFunction(LINEAR, sandbox=sandbox).fit_params(rows)
    assert result.improved and declared_params(fitted.source) == result.params


def test_fit_params_leaves_a_function_without_params_alone(sandbox, synthetic):
    X, y = synthetic
    plain = "def score(attrs):\n    return 2.0 * attrs['a'] + attrs['b']\n"
    result = fit_params(plain, ["a", "b", "c"], X, y, sandbox=sandbox)
    assert result.source == plain
    assert result.params == {} and not result.improved and result.evaluations == 1
    assert result.rho_after == result.rho_before > 0.9


def test_fit_params_keeps_the_start_when_nothing_improves(sandbox, synthetic):
    # A positive scale cannot change a ranking: the optimiser moves "s", rho stays the same, and
    # the source must come back untouched (it used to come back with the moved, useless value).
    X, y = synthetic
    scale = 'PARAMS = {"s": 2.0}\ndef score(attrs):\n    return PARAMS["s"] * attrs["a"]\n'
    result = fit_params(scale, ["a", "b", "c"], X, y, sandbox=sandbox, max_evaluations=40)
    assert not result.improved
    assert result.rho_after == result.rho_before == pytest.approx(_spearman(X[:, 0], y))
    assert result.source == scale and result.params == {"s": 2.0}
    assert result.evaluations > 1  # it did search


def test_fit_params_needs_y_for_arrays(sandbox, synthetic):
    X, _ = synthetic
    with pytest.raises(ValueError, match="pass y"):
        ScoringFunction(LINEAR, ["a", "b", "c"], sandbox=sandbox).fit_params(X)


def _spearman(a, b):
    from scipy import stats

    return float(stats.spearmanr(a, b).statistic)


# -- PARAMS rewriting --------------------------------------------------------------------------

def test_replace_params_keeps_everything_else_byte_for_byte():
    prefix = '"""Doc: café ☕."""\n# weights below are fitted   \r\nimport math\n\nPARAMS = '
    literal = '{\n    "w": 0.5,  # weight\n    "bias": -1,\n}'
    suffix = ('  # trailing comment ünïcode\n\n\ndef score(attrs):\n'
              '    return PARAMS["w"] * math.exp(attrs["a"]) + PARAMS["bias"]  # done\n')
    source = prefix + literal + suffix
    new = replace_params(source, {"w": 0.123456789})
    assert new.startswith(prefix) and new.endswith(suffix)
    assert new[len(prefix):len(new) - len(suffix)] == '{"w": 0.1235, "bias": -1.0}'
    assert declared_params(new) == {"w": 0.1235, "bias": -1.0}


def test_replace_params_many_keys_is_multiline_and_ordered():
    source = ("PARAMS = {'d': 4.0, 'c': 3.0, 'b': 2.0, 'a': 1.0}  # keep me\n"
              "def score(attrs):\n    return PARAMS['a']\n")
    new = replace_params(source, {"a": -0.25, "c": 1e-07}, digits=3)
    assert new == ('PARAMS = {\n    "d": 4.0,\n    "c": 1e-07,\n    "b": 2.0,\n    "a": -0.25,\n}'
                   "  # keep me\ndef score(attrs):\n    return PARAMS['a']\n")


def test_replace_params_after_odd_characters_in_comments():
    # Form feed and U+2028 in comments: str.splitlines breaks lines there, Python does not.
    source = ("# page\x0c one \u2028 still line 1\n# \x1c\x85\n"
              "PARAMS = {'w': 1.0}  # keep\ndef score(attrs):\n    return PARAMS['w']\n")
    new = replace_params(source, {"w": 2.5})
    assert new == source.replace("{'w': 1.0}", '{"w": 2.5}')


def test_replace_params_refuses_unknown_names_and_missing_params():
    with pytest.raises(KeyError, match="not declared in PARAMS"):
        replace_params(LINEAR, {"w_z": 1.0})
    with pytest.raises(UnsafeCodeError, match="declares no PARAMS"):
        replace_params("def score(attrs):\n    return 1.0\n", {"w": 1.0})


def test_declared_params_rejects_non_literals():
    with pytest.raises(UnsafeCodeError, match="line 1: PARAMS must be a dict literal"):
        declared_params("PARAMS = dict(w=1.0)\ndef score(attrs):\n    return 1.0\n")
    with pytest.raises(UnsafeCodeError, match="PARAMS values must be number literals"):
        declared_params("PARAMS = {'w': 1 + 1}\ndef score(attrs):\n    return 1.0\n")
    assert declared_params("PARAMS = {'w': -2, 'v': +0.5}\ndef score(attrs):\n    return 1.0\n") \
        == {"w": -2.0, "v": 0.5}
