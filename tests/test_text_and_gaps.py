"""Text (categorical) attributes and missing values, from loading to the exported function.

A table with a text column ``colour`` (white, the most frequent, red, rose) and a numeric ``a``
with gaps: the program fits features (``colour=red``, ``colour=rose``, ``a`` with gaps filled),
and the function it returns reads ``attrs["colour"] == "red"`` and ``filled(attrs["a"], m)``.
"""

import subprocess

import numpy as np
import pandas as pd
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.data.encoding import Encoding
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram
from rewardsmith.sandbox import ScoringFunction
from rewardsmith.sandbox.runner import Sandbox

COLOURS = ("white", "red", "rose")


def table(n=120, seed=0, gaps=True):
    rng = np.random.default_rng(seed)
    colour = rng.choice(COLOURS, size=n, p=[0.5, 0.3, 0.2])
    a = rng.normal(size=n)
    y = a - 1.5 * (colour == "red") + 0.8 * (colour == "rose") + rng.normal(scale=0.3, size=n)
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "a": a, "colour": colour,
                          "human_score": y})
    if gaps:
        frame.loc[::6, "a"] = np.nan
    return frame


def run(frame, prior, **kwargs):
    """A statistical run (no writing) with the scripted LM stating ``prior``."""
    lm, _ = scripted_lm(make_responder(prior=prior))
    import dspy

    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return RewardProgram(rounds=0).run(load_dataset(frame, **kwargs), seed=0)


@pytest.fixture(scope="module")
def result():
    return run(table(), {"a": "higher", "colour=red": "higher", "colour=rose": "higher"})


# -- loading ----------------------------------------------------------------------------------

def test_a_text_column_with_few_levels_is_an_attribute_with_its_levels_most_frequent_first():
    ds = load_dataset(table())
    assert ds.attributes == ("a", "colour")
    assert ds.levels == {"colour": ("white", "red", "rose")}
    assert ds.features == ("a", "colour=red", "colour=rose")


def test_a_categorical_dtype_column_is_a_text_attribute():
    frame = table()
    frame["colour"] = frame["colour"].astype("category")
    assert load_dataset(frame).levels["colour"][0] == "white"


def test_a_column_the_card_ignores_stays_out_even_with_few_levels():
    assert "wine_type" not in load_dataset("wine_quality").attributes


def test_the_prompts_name_each_level_against_the_reference_and_the_gaps():
    task = make_task(load_dataset(table()), seed=0)
    assert "colour=red: 1 when colour is 'red', else 0 (against the reference level 'white')" \
        in task.schema
    assert "read there as the fit-row median" in task.schema
    assert "missing values (read as the fit-row median" in task.profile
    assert np.isfinite(task.fit_rows.X).all()


def test_the_fallback_median_comes_from_the_fit_rows_only():
    ds = load_dataset(table())
    task = make_task(ds, seed=0)
    fit_a = task.raw_rows.fit["a"]
    assert task.encoding.medians["a"] == pytest.approx(np.nanmedian(fit_a), abs=1e-6)
    held = task.raw_rows.heldout["a"]
    # Held-out gaps are filled with the fit rows' median, not their own.
    filled = task.heldout_rows.X[:, 0][held.isna().to_numpy()]
    assert (filled == task.encoding.medians["a"]).all()


# -- the function written back on the attributes -----------------------------------------------

def test_a_level_in_fewer_than_five_fit_rows_gets_no_feature_and_scores_as_the_reference():
    frame = table(n=60)
    frame.loc[:3, "colour"] = "orange"  # 4 rows
    task = make_task(load_dataset(frame), seed=0)
    assert "colour=orange" not in task.fit_rows.attributes
    assert task.encoding.rare == {"colour": ("orange",)}
    assert "too rare in the fit rows to weigh" in task.schema


def test_a_categorical_prior_is_overruled_by_the_rows(result):
    f = result.function
    assert 'attrs["colour"] == "red"' in f.source
    # The LM said red is better than white; the rows say worse, and the function follows them.
    assert f({"a": 0.0, "colour": "red"}) < f({"a": 0.0, "colour": "white"})
    assert f({"a": 0.0, "colour": "rose"}) > f({"a": 0.0, "colour": "white"})


def test_a_level_unseen_in_the_fit_rows_or_missing_scores_as_the_reference(result):
    f = result.function
    white = f({"a": 0.5, "colour": "white"})
    assert f({"a": 0.5, "colour": "green"}) == white
    assert f({"a": 0.5, "colour": None}) == white


def test_a_missing_value_follows_the_fitted_fallback_in_row_and_column_mode(result):
    f = result.function
    median = result.task.encoding.medians["a"]
    assert f"filled(attrs[\"a\"], {median!r})" in f.source
    expected = f({"a": median, "colour": "red"})
    assert f({"a": None, "colour": "red"}) == expected
    assert f({"a": float("nan"), "colour": "red"}) == expected
    n = 400
    frame = pd.DataFrame({"a": np.where(np.arange(n) % 3 == 0, np.nan, 0.25),
                          "colour": np.resize(["red", "white", "rose", "green", None], n)})
    scores = f.score_frame(frame)
    assert scores.attrs["score_mode"] == "columns"
    rows = [f({"a": a, "colour": c}) for a, c in frame.head(15).itertuples(index=False)]
    np.testing.assert_allclose(scores.head(15), rows, rtol=1e-12)
    np.testing.assert_allclose(f.predict(frame), scores, rtol=1e-12)


def test_the_heldout_rho_is_the_same_on_features_and_on_raw_rows(result):
    raw = result.task.raw_rows.heldout
    outputs = result.function.predict(raw[["a", "colour"]])
    np.testing.assert_allclose(outputs, result.heldout_scores, rtol=1e-9)


def test_the_exported_function_scores_a_csv_with_text_and_empty_cells_without_rewardsmith(
        result, tmp_path):
    path = result.function.export(tmp_path / "reward.py")
    items = pd.DataFrame({"item_id": ["x", "y", "z"], "a": [0.5, None, 0.5],
                          "colour": ["red", "white", None]})
    items.to_csv(tmp_path / "items.csv", index=False)
    out = subprocess.run(["python3", "-I", "-S", str(path), str(tmp_path / "items.csv")],
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    f = result.function
    expected = [f({"a": 0.5, "colour": "red"}), f({"a": None, "colour": "white"}),
                f({"a": 0.5, "colour": None})]
    np.testing.assert_allclose([float(v) for v in out], expected, rtol=1e-12)


def test_score_file_reads_text_columns_the_function_compares(result, tmp_path):
    from rewardsmith.scoring.files import score_file

    items = table(n=300, seed=1)
    items.to_csv(tmp_path / "items.csv", index=False)
    done = score_file(result.function, tmp_path / "items.csv", tmp_path / "scores.csv",
                      id_column="item_id", progress=False)
    scored = pd.read_csv(tmp_path / "scores.csv")
    np.testing.assert_allclose(scored["score"], result.function.predict(items[["a", "colour"]]),
                               rtol=1e-12)
    assert done.rows == 300


# -- the two ways back, on functions of every shape ------------------------------------------

ENCODING = Encoding(("a", "colour"), {"colour": COLOURS}, {"a": 0.25})
FEATURE_SOURCES = [
    'def score(attrs):\n    return 2 * attrs["a"] - attrs["colour=red"]'
    ' + attrs.get("colour=rose", 0)\n',
    'def score(attrs):\n    if attrs["colour=red"] > 0.5:\n        return -1.0\n'
    '    return max(attrs["a"], attrs["colour=rose"])\n',
    'def score(attrs):\n    total = 0.0\n    for name, value in attrs.items():\n'
    '        total += value\n    return total\n',
    'def part(x):\n    return x["a"] * 2\n\n\ndef score(attrs):\n    return part(attrs) + '
    'attrs["colour=rose"]\n',
]


@pytest.mark.parametrize("source", FEATURE_SOURCES)
def test_a_function_on_features_written_back_scores_raw_rows_the_same(source):
    raw = table(n=60, seed=2)[["a", "colour"]]
    raw.loc[3, "colour"] = "green"  # unseen: the reference
    features = ENCODING.transform(raw)[list(ENCODING.features)]
    expected = ScoringFunction(source).predict(features)
    back = ScoringFunction(ENCODING.raw_source(source))
    np.testing.assert_allclose(back.predict(raw), expected, rtol=1e-12)
    wrapped = ScoringFunction(ENCODING.wrapped_source(source))
    np.testing.assert_allclose(wrapped.predict(raw), expected, rtol=1e-12)


def test_a_loop_over_attrs_is_written_back_by_a_wrapper_not_a_splice():
    text = ENCODING.raw_source(FEATURE_SOURCES[2])
    assert "def score_features(attrs):" in text and "return score_features({" in text


# -- the sandbox --------------------------------------------------------------------------------

def test_the_sandbox_hands_text_and_none_to_score_per_row_and_by_columns():
    from rewardsmith.sandbox.runner import Rows, TextColumn

    source = ('def score(attrs):\n    c = attrs["c"]\n'
              '    return 1.0 * (c == "b") + 2.0 * (c in ("c", "zz")) + 4.0 * (c != "a")\n')
    codes = np.array([[0.0], [1.0], [2.0], [np.nan]])
    columns = [TextColumn("c", ["a", "b", "c"])]
    with Sandbox(columns=True) as box:
        per_row = box.evaluate(source, columns, codes)
        by_columns = box.evaluate_columns(source, Rows.pack(columns, codes[:3]))
    np.testing.assert_array_equal(per_row, [0.0, 5.0, 6.0, 4.0])  # None != "a"
    np.testing.assert_array_equal(by_columns, per_row[:3])


def test_text_in_column_mode_refuses_arithmetic_so_the_row_path_serves():
    from rewardsmith.sandbox.runner import Rows, SandboxError, TextColumn

    columns = [TextColumn("c", ["a", "b"])]
    with Sandbox(columns=True) as box, pytest.raises(SandboxError):
        box.evaluate_columns('def score(attrs):\n    return attrs["c"] * 2.0\n',
                             Rows.pack(columns, np.array([[0.0], [1.0]])))


def test_the_same_codes_with_other_levels_are_another_table_for_the_worker():
    from rewardsmith.sandbox.runner import Rows, TextColumn

    codes = np.array([[0.0], [1.0]])
    one = Rows.pack([TextColumn("c", ["a", "b"])], codes)
    other = Rows.pack([TextColumn("c", ["b", "a"])], codes)
    assert one.key != other.key


# -- the estimator -------------------------------------------------------------------------------

def test_the_estimator_fits_and_predicts_a_frame_with_text_and_gaps():
    pytest.importorskip("sklearn")
    from rewardsmith.sklearn import RewardRegressor

    frame = table()
    X, y = frame[["a", "colour"]], frame["human_score"]
    lm, engine = scripted_lm(make_responder())
    model = RewardRegressor(lm=lm, rounds=0, prior={"a": "higher", "colour=red": "lower"})
    model.fit(X, y)
    assert engine.calls == 0
    assert 'attrs["colour"] == "red"' in model.function_.source
    assert model.score(X, y) > 0.7
    assert np.isfinite(model.predict(X)).all()


def test_the_estimator_reads_nan_in_a_numeric_array_as_the_median():
    pytest.importorskip("sklearn")
    from rewardsmith.sklearn import RewardRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.2, size=60)
    X[::7, 1] = np.nan
    lm, _ = scripted_lm(make_responder())
    model = RewardRegressor(lm=lm, rounds=0, prior={"x0": "higher", "x1": "higher"}).fit(X, y)
    assert "filled(attrs[\"x1\"]" in model.function_.source
    median = float(np.nanmedian(X[:, 1]))
    gap = model.predict(np.array([[0.3, np.nan]]))
    np.testing.assert_allclose(gap, model.predict(np.array([[0.3, round(median, 6)]])))


def test_rewardsmith_check_scores_a_function_on_raw_rows(result, tmp_path, capsys):
    from rewardsmith.cli import main

    table().to_csv(tmp_path / "t.csv", index=False)
    result.function.export(tmp_path / "f.py")
    assert main(["check", str(tmp_path / "f.py"), "--data", str(tmp_path / "t.csv")]) == 0
    assert "rho" in capsys.readouterr().out


def test_score_file_reads_a_parquet_text_column_stored_as_categories(result, tmp_path):
    pytest.importorskip("pyarrow")
    from rewardsmith.scoring.files import score_file

    items = table(n=200, seed=3)
    items["colour"] = items["colour"].astype("category")
    items.to_parquet(tmp_path / "items.parquet")
    score_file(result.function, tmp_path / "items.parquet", tmp_path / "scores.parquet",
               progress=False)
    scored = pd.read_parquet(tmp_path / "scores.parquet")
    expected = result.function.predict(items[["a", "colour"]].astype({"colour": object}))
    np.testing.assert_allclose(scored["score"], expected, rtol=1e-12)


def test_a_text_attribute_the_function_does_not_read_is_passed_as_text_not_refused():
    f = ScoringFunction('def score(attrs):\n    return 2.0 * attrs["a"]\n', ["a", "colour"])
    frame = table(n=10)[["a", "colour"]].fillna(0.0)
    np.testing.assert_allclose(f.predict(frame), 2.0 * frame["a"])


def test_score_file_passes_a_named_text_attribute_the_function_does_not_read(tmp_path):
    from rewardsmith.scoring.files import score_file

    f = ScoringFunction('def score(attrs):\n    return 2.0 * attrs["a"]\n', ["a", "colour"])
    items = table(n=50).fillna(0.0)
    items.to_csv(tmp_path / "items.csv", index=False)
    score_file(f, tmp_path / "items.csv", tmp_path / "scores.csv", progress=False)
    np.testing.assert_allclose(pd.read_csv(tmp_path / "scores.csv")["score"], 2.0 * items["a"])
