"""``ScoringFunction.score_frame`` / ``FrameScorer``: the values of ``predict`` (and its errors),
by whole columns where the function allows it and row by row otherwise."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sandbox_helpers import body, src

from rewardsmith.data import DatasetError
from rewardsmith.sandbox import Sandbox, SandboxError, ScoringFunction
from rewardsmith.scoring import FrameScorer, MissingColumnError, column_reads

LINEAR = body("return 2.0 * attrs['a'] - attrs['b'] + 0.5 * attrs['c']")
BRANCHING = body("if attrs['a'] > 0:", "    return attrs['b']", "return -attrs['c']")
WITH_MATH = src("import math", "def score(attrs):",
                "    return math.log1p(abs(attrs['a'])) + math.tanh(attrs['b']) * attrs['c']")


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=10, cpu_s=10, columns=True)
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["a", "b", "c"])
    df["name"] = [f"item {i}" for i in range(len(df))]
    df.index = pd.RangeIndex(5000, 6000)  # not 0..n-1: the result must keep it
    return df


def fn(source, sandbox, **kwargs) -> ScoringFunction:
    return ScoringFunction(source, sandbox=sandbox, **kwargs)


# -- the values of predict -----------------------------------------------------------------------

def test_linear_function_scores_by_columns_and_equals_predict(sandbox, frame):
    f = fn(LINEAR, sandbox)
    out = f.score_frame(frame)
    assert out.attrs["score_mode"] == "columns"
    np.testing.assert_array_equal(out.to_numpy(), f.predict(frame[["a", "b", "c"]]))


def test_score_frame_keeps_the_index_and_names_the_series_score(sandbox, frame):
    out = fn(LINEAR, sandbox).score_frame(frame)
    assert out.name == "score" and out.dtype == np.float64
    assert out.index.equals(frame.index)


def test_branching_function_falls_back_to_rows_and_still_equals_predict(sandbox, frame):
    f = fn(BRANCHING, sandbox)
    scorer = FrameScorer(f)
    out = scorer.score(frame)
    assert scorer.mode == "rows" and "truth value" in scorer.reason
    assert out.attrs["score_mode"] == "rows"
    np.testing.assert_array_equal(out.to_numpy(), f.predict(frame[["a", "b", "c"]]))


def test_math_functions_score_by_columns_and_match_predict(sandbox, frame):
    f = fn(WITH_MATH, sandbox)
    out = f.score_frame(frame)
    assert out.attrs["score_mode"] == "columns"
    np.testing.assert_allclose(out.to_numpy(), f.predict(frame[["a", "b", "c"]]), rtol=1e-12)


def test_the_selected_terms_hinges_score_by_columns_and_match_predict(sandbox, frame):
    from rewardsmith.data.rows import RowTable
    from rewardsmith.judge.candidates import terms_candidate

    rng = np.random.default_rng(1)
    table = frame[["a", "b", "c"]].reset_index(drop=True)
    table["y"] = (np.maximum(table["a"] - 0.3, 0) - np.minimum(table["b"], 0) + 0.2 * table["c"]
                  + rng.normal(scale=0.1, size=len(table)))
    rows = RowTable(table, ["a", "b", "c"], "y")
    chosen = terms_candidate(rows, rows)
    assert "max(" in chosen.function.source or "min(" in chosen.function.source
    f = fn(chosen.function.source, sandbox)
    out = f.score_frame(frame)
    assert out.attrs["score_mode"] == "columns"
    np.testing.assert_allclose(out.to_numpy(), f.predict(frame[["a", "b", "c"]]), rtol=1e-12)


def test_a_conditional_whose_other_side_fails_on_some_rows_still_equals_predict(sandbox, frame):
    # where a <= -2.5 (a few rows of the normal sample) the log side, not taken, raises: those
    # rows go the row path, the rest stay in column mode
    source = src("import math", "def score(attrs):",
                 "    return math.log(attrs['a'] + 2.5) if attrs['a'] > -1 else attrs['b']")
    assert (frame["a"] <= -2.5).sum() > 0
    f = fn(source, sandbox)
    scorer = FrameScorer(f, split_rows=16)  # so that pieces of 16 rows are set apart
    out = scorer.score(frame)
    assert scorer.mode == "columns" and scorer.counts["columns"] > len(frame) // 2
    np.testing.assert_allclose(out.to_numpy(), f.predict(frame[["a", "b", "c"]]), rtol=1e-12)


def test_chunked_scoring_equals_one_chunk(sandbox, frame):
    f = fn(LINEAR, sandbox)
    whole = f.score_frame(frame)
    pd.testing.assert_series_equal(f.score_frame(frame, chunk_rows=64), whole)
    rows = fn(BRANCHING, sandbox)
    pd.testing.assert_series_equal(rows.score_frame(frame, chunk_rows=64),
                                   rows.score_frame(frame), check_exact=True)


def test_row_batches_inside_a_chunk_give_the_same_values(sandbox, frame):
    f = fn(BRANCHING, sandbox)
    scorer = FrameScorer(f, row_batch=37)
    np.testing.assert_array_equal(scorer.score(frame).to_numpy(),
                                  f.predict(frame[["a", "b", "c"]]))


def test_empty_frame_gives_an_empty_series(sandbox, frame):
    out = fn(LINEAR, sandbox).score_frame(frame.iloc[:0])
    assert len(out) == 0 and out.name == "score"


def test_small_frames_are_scored_row_by_row_without_deciding(sandbox, frame):
    scorer = FrameScorer(fn(LINEAR, sandbox))
    scorer.score(frame.iloc[:10])
    assert scorer.mode is None and scorer.counts["rows"] == 10
    scorer.score(frame)
    assert scorer.mode == "columns"


def test_a_function_bound_to_a_plain_sandbox_scores_row_by_row(frame):
    with Sandbox(timeout_s=10) as plain:
        f = ScoringFunction(LINEAR, sandbox=plain)
        scorer = FrameScorer(f)
        out = scorer.score(frame)
        assert scorer.mode == "rows" and "no column mode" in scorer.reason
        np.testing.assert_array_equal(out.to_numpy(), f.predict(frame[["a", "b", "c"]]))


def test_a_function_that_reads_no_column_scores_every_row(sandbox):
    text_only = pd.DataFrame({"name": [f"x{i}" for i in range(100)]})
    out = fn(body("return 1.5"), sandbox).score_frame(text_only)
    np.testing.assert_array_equal(out.to_numpy(), np.full(100, 1.5))


# -- errors and non-finite values: the row path's ------------------------------------------------

def test_division_by_zero_on_an_unsampled_row_raises_exactly_as_predict(sandbox, frame):
    df = frame[["a", "b", "c"]].copy()
    df.iloc[700, 1] = 2.0  # not among the sampled rows
    f = fn(body("return attrs['a'] / (attrs['b'] - 2.0)"), sandbox)
    with pytest.raises(SandboxError) as expected:
        f.predict(df)
    scorer = FrameScorer(f, split_rows=64)
    with pytest.raises(SandboxError) as got:
        scorer.score(df)
    assert scorer.mode == "columns"  # the error came from the rows around row 700
    assert str(got.value) == str(expected.value) == (
        "line 2: ZeroDivisionError: float division by zero")


def test_an_error_squashed_into_a_number_by_numpy_still_raises(sandbox, frame):
    # tanh(1 / 0) is tanh(inf) = 1.0 in numpy: only numpy's own error flags reveal the row.
    df = frame[["a", "b", "c"]].copy()
    df.iloc[700, 1] = 0.0
    f = fn(src("import math", "def score(attrs):", "    return math.tanh(1.0 / attrs['b'])"),
           sandbox)
    with pytest.raises(SandboxError) as expected:
        f.predict(df)
    with pytest.raises(SandboxError) as got:
        FrameScorer(f, split_rows=64).score(df)
    assert str(got.value) == str(expected.value)


def test_rows_are_redone_in_table_order_so_the_first_error_is_predicts(sandbox, frame):
    # Row 10: floor(NaN) is a ValueError in Python (quiet NaN for numpy); row 500: 1 / 0.
    df = frame[["a", "b", "c"]].copy()
    df.iloc[10, 0] = np.nan
    df.iloc[500, 1] = 0.0
    f = fn(src("import math", "def score(attrs):",
               "    return math.floor(attrs['a']) + 1.0 / attrs['b']"), sandbox)
    with pytest.raises(SandboxError) as expected:
        f.predict(df)
    with pytest.raises(SandboxError) as got:
        FrameScorer(f, split_rows=64).score(df)
    assert "ValueError" in str(expected.value)
    assert str(got.value) == str(expected.value)


def test_an_overflow_python_allows_gives_predicts_inf(sandbox, frame):
    # A float overflows to inf silently; numpy raises: those rows go row by row, to inf.
    f = fn(body("return attrs['a'] * 1e308 * 10.0"), sandbox)
    scorer = FrameScorer(f, split_rows=64)
    out = scorer.score(frame)
    expected = f.predict(frame[["a", "b", "c"]])
    assert np.isinf(expected).any() and scorer.counts["recomputed"] > 0
    np.testing.assert_array_equal(out.to_numpy(), expected)


def test_non_finite_column_results_are_recomputed_row_by_row(sandbox, frame):
    df = frame[["a", "b", "c"]].copy()
    df.iloc[3, 0] = np.nan
    df.iloc[9, 0] = np.inf
    f = fn(LINEAR, sandbox)
    scorer = FrameScorer(f)
    out = scorer.score(df)
    assert scorer.mode == "columns" and scorer.counts["recomputed"] == 2
    np.testing.assert_array_equal(out.to_numpy(), f.predict(df))  # NaN where predict has NaN


def test_errors_name_the_row_of_the_whole_table_not_of_the_chunk(sandbox, frame):
    # A negative number to the power 0.5 is complex: a TypeError naming the row.
    df = frame[["a", "b", "c"]].abs()
    df.iloc[150, 0] = -1.0
    f = fn(body("return attrs['a'] ** 0.5"), sandbox)
    with pytest.raises(SandboxError) as expected:
        f.predict(df)
    with pytest.raises(SandboxError) as got:
        f.score_frame(df, chunk_rows=100)
    assert "for row 150" in str(expected.value)
    assert str(got.value) == str(expected.value)


class Disagreeing:
    """A column sandbox whose column results are off by one from the ``spoil``-th call on: the
    guard must notice and score row by row."""

    columns = True

    def __init__(self, real, spoil=1):
        self.real, self.spoil, self.calls = real, spoil, 0

    def evaluate_columns(self, source, rows, param_sets=None):
        self.calls += 1
        out = self.real.evaluate_columns(source, rows, param_sets)
        return out + 1.0 if self.calls >= self.spoil else out

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_column_results_that_differ_from_rows_are_dropped_for_the_row_path(sandbox, frame):
    f = fn(LINEAR, sandbox)
    scorer = FrameScorer(f, sandbox=Disagreeing(sandbox))
    out = scorer.score(frame)
    assert scorer.mode == "rows" and "differ" in scorer.reason
    np.testing.assert_array_equal(out.to_numpy(), f.predict(frame[["a", "b", "c"]]))


def test_a_later_chunk_that_disagrees_switches_the_rest_to_rows(sandbox, frame):
    f = fn(LINEAR, sandbox)
    scorer = FrameScorer(f, sandbox=Disagreeing(sandbox, spoil=2))
    first = scorer.score(frame.iloc[:500])
    assert scorer.mode == "columns"
    second = scorer.score(frame.iloc[500:], offset=500)
    assert scorer.mode == "rows" and "from row 500 on" in scorer.reason
    np.testing.assert_array_equal(pd.concat([first, second]).to_numpy(),
                                  f.predict(frame[["a", "b", "c"]]))


# -- columns --------------------------------------------------------------------------------------

def test_a_missing_column_is_named_before_scoring(sandbox, frame):
    f = fn(body("return attrs['a'] + attrs['zzz']"), sandbox)
    with pytest.raises(MissingColumnError, match=r"reads column 'zzz' \(line 2\)"):
        f.score_frame(frame)


def test_a_column_missing_at_run_time_says_so(sandbox, frame):
    # Keys computed at run time cannot be checked before: the worker's KeyError gets the fix.
    f = fn(src("NAMES = ['a', 'zzz']", "def score(attrs):", "    t = 0.0",
               "    for name in NAMES:", "        t += attrs[name]", "    return t"), sandbox)
    with pytest.raises(SandboxError, match="KeyError: 'zzz' - the table has no column 'zzz'"):
        f.score_frame(frame)


def test_a_text_column_the_function_reads_is_a_clear_error(sandbox, frame):
    f = fn(body("return attrs['name'] + attrs['a']"), sandbox)
    with pytest.raises(DatasetError, match="column 'name' in the table is not numeric"):
        f.score_frame(frame)


def test_only_the_columns_the_function_reads_are_passed(sandbox, frame):
    # A function that loops over attrs sees every numeric column, as with predict.
    f = fn(body("t = 0.0", "for k, v in attrs.items():", "    t += v", "return t"), sandbox)
    np.testing.assert_array_equal(f.score_frame(frame).to_numpy(),
                                  f.predict(frame).astype(np.float64))
    scorer = FrameScorer(fn(LINEAR, sandbox))
    assert scorer.columns_for(["x", "c", "b", "a", "name"], ["x", "c", "b", "a"]) == ["a", "b", "c"]


def test_an_attrs_get_column_that_is_absent_uses_the_default(sandbox, frame):
    f = fn(body("return attrs['a'] + attrs.get('missing', 10.0)"), sandbox)
    np.testing.assert_array_equal(f.score_frame(frame).to_numpy(),
                                  frame["a"].to_numpy() + 10.0)


@pytest.mark.parametrize("source, required, optional, dynamic", [
    (LINEAR, ["a", "b", "c"], [], False),
    (body("return attrs.get('x', 0.0) + attrs['y']"), ["y"], ["x"], False),
    (body("return attrs.get('x', 0.0) + attrs['x']"), ["x"], [], False),
    (body("return sum(attrs.values())"), [], [], True),
    (body("t = 0.0", "for k in attrs:", "    t += attrs[k]", "return t"), [], [], True),
    (src("def helper(row):", "    return row['a']", "def score(attrs):",
         "    return helper(attrs)"), [], [], True),
    (body("attrs = {'a': 1.0}", "return attrs['a']"), [], [], True),
])
def test_column_reads_are_literal_or_dynamic(source, required, optional, dynamic):
    reads = column_reads(source)
    assert (sorted(reads.required), sorted(reads.optional), reads.dynamic) == (
        required, optional, dynamic)


# -- pickling -------------------------------------------------------------------------------------

def test_a_scoring_function_pickles_without_its_sandbox(sandbox, frame):
    f = ScoringFunction(LINEAR, ["a", "b", "c"], name="lin", sandbox=sandbox)
    copy = pickle.loads(pickle.dumps(f))
    assert copy.sandbox is None and f.sandbox is sandbox
    assert (copy.source, copy.attributes, copy.name) == (f.source, f.attributes, f.name)
    np.testing.assert_array_equal(copy.score_frame(frame).to_numpy(), f.predict(frame))
