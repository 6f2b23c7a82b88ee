"""Ordered text attributes (a diamond's cut: Fair < Good < ... < Ideal) are one feature, their
place in the order, read from a card's ``categoriesOrdered`` or a pandas ordered categorical."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.data.card import Card
from rewardsmith.data.dataset import DatasetError
from rewardsmith.data.encoding import Encoding
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram
from rewardsmith.scoring.columns import column_reads

CUTS = ("Fair", "Good", "Very Good", "Premium", "Ideal")


def table(n=200, seed=0, ordered=True):
    rng = np.random.default_rng(seed)
    place = rng.integers(0, len(CUTS), n)
    carat = rng.uniform(0.2, 3.0, n)
    cut = [CUTS[p] for p in place]
    return pd.DataFrame({
        "gem_id": [f"g{k}" for k in range(n)], "carat": carat,
        "cut": pd.Categorical(cut, categories=CUTS, ordered=True) if ordered else cut,
        "human_score": carat + 0.6 * place + rng.normal(scale=0.3, size=n)})


def descriptor(categories=CUTS, ordered=True):
    cut = {"name": "cut", "type": "string", "description": "quality of the cut"}
    if categories is not None:
        cut["categories"] = list(categories)
    if ordered is not None:
        cut["categoriesOrdered"] = ordered
    return {"name": "gems", "resources": [{"name": "gems", "schema": {"fields": [
        {"name": "gem_id", "type": "string"},
        {"name": "carat", "type": "number", "description": "weight in carats"}, cut,
        {"name": "human_score", "type": "number", "description": "price"}],
        "primaryKey": "gem_id"}, "rewardsmith": {"target": "human_score"}}]}


@pytest.fixture(scope="module")
def result():
    lm, _ = scripted_lm(make_responder(prior={"carat": "higher", "cut": "higher"}))
    import dspy

    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return RewardProgram(rounds=0).run(load_dataset(table()), seed=0)


# -- where the order comes from ---------------------------------------------------------------

def test_a_pandas_ordered_categorical_is_one_feature_not_indicators():
    ds = load_dataset(table())
    assert ds.orders == {"cut": CUTS}
    assert ds.features == ("carat", "cut")


def test_an_unordered_categorical_still_gets_indicators():
    ds = load_dataset(table(ordered=False))
    assert ds.orders == {}
    assert len(ds.features) == 1 + len(CUTS) - 1


def test_a_card_with_categories_ordered_orders_a_csv_text_column(tmp_path):
    frame = table(ordered=False)
    frame.to_csv(tmp_path / "gems.csv", index=False)
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor()))
    ds = load_dataset(tmp_path / "gems.csv")
    assert ds.orders == {"cut": CUTS}
    assert ds.features == ("carat", "cut")


def test_a_card_orders_round_trip_through_its_descriptor():
    card = Card.from_descriptor(descriptor())
    again = Card.from_descriptor(card.to_descriptor())
    assert again.orders == card.orders == {"cut": CUTS}


def test_categories_without_categories_ordered_order_nothing():
    assert Card.from_descriptor(descriptor(ordered=None)).orders == {}


def test_categories_ordered_without_categories_is_one_clear_error():
    with pytest.raises(DatasetError, match="categoriesOrdered but no categories"):
        Card.from_descriptor(descriptor(categories=None))


def test_a_value_outside_the_ordered_categories_is_an_error_naming_it():
    frame = table(ordered=False)
    frame.loc[3, "cut"] = "Superb"
    with pytest.raises(DatasetError, match="'Superb', which is not among its ordered"):
        load_dataset(frame, card=descriptor())


# -- the feature ----------------------------------------------------------------------------

def test_the_prompt_states_the_order_and_the_place_it_reads():
    task = make_task(load_dataset(table()), fit_size=40, seed=0)
    line = next(line for line in task.schema.splitlines() if line.startswith("- cut"))
    assert "'Fair' < 'Good' < 'Very Good' < 'Premium' < 'Ideal'" in line
    assert "(0 = 'Fair', 4 = 'Ideal')" in line
    np.testing.assert_array_equal(np.unique(task.fit_rows.X[:, 1]), [0, 1, 2, 3, 4])


def test_the_fallback_place_is_the_fit_rows_median():
    fit = pd.DataFrame({"cut": ["Fair", "Fair", "Ideal", None, "Good"]})
    encoding = Encoding.fit(fit, ["cut"], orders={"cut": CUTS})
    assert encoding.order_medians == {"cut": 0.5}  # places 0, 0, 4, 1
    np.testing.assert_array_equal(encoding.transform(fit)["cut"], [0, 0, 4, 0.5, 1])


def test_an_order_constant_does_not_shadow_a_name_of_the_source():
    encoding = Encoding(("cut",), orders={"cut": CUTS}, order_medians={"cut": 2.0})
    source = 'CUT_ORDER = 3.0\n\n\ndef score(attrs):\n    return attrs["cut"] * CUT_ORDER\n'
    written = encoding.raw_source(source)
    assert 'CUT_ORDER_2 = ("Fair",' in written and "CUT_ORDER = 3.0" in written
    assert "ranked(attrs[\"cut\"], CUT_ORDER_2, 2.0) * CUT_ORDER" in written


def test_order_constants_are_names_the_sandbox_admits_for_any_attribute_name():
    from rewardsmith.sandbox import ScoringFunction

    names = ("Größe", "1st class", "x")
    encoding = Encoding(names, orders={n: ("a", "b") for n in names},
                        order_medians=dict.fromkeys(names, 0.5))
    assert encoding.order_constants() == {"Größe": "GR_E_ORDER", "1st class": "ORDER_1ST_CLASS",
                                          "x": "X_ORDER"}
    source = "def score(attrs):\n    return " + " + ".join(
        f"attrs[{n!r}]" for n in names) + "\n"
    f = ScoringFunction(encoding.raw_source(source), list(names))
    assert f({"Größe": "b", "1st class": "zz", "x": "a"}) == 1.5


# -- the written function -------------------------------------------------------------------

def test_the_function_reads_the_level_through_its_place(result):
    source = result.function.source
    assert 'CUT_ORDER = ("Fair", "Good", "Very Good", "Premium", "Ideal")' in source
    assert "def ranked(value, order, fallback):" in source
    assert "cut=" not in source  # no indicator
    f = result.function
    assert f({"carat": 1.0, "cut": "Ideal"}) > f({"carat": 1.0, "cut": "Fair"})


def test_an_unknown_or_missing_level_scores_at_the_median_place(result):
    f = result.function
    median = result.task.encoding.order_medians["cut"]
    at_median = CUTS[int(median)] if median == int(median) else None
    assert at_median is not None  # 200 rows of 5 levels: a whole place
    expected = f({"carat": 1.0, "cut": at_median})
    assert f({"carat": 1.0, "cut": "Superb"}) == expected
    assert f({"carat": 1.0, "cut": None}) == expected


def test_the_ordered_column_scores_by_whole_columns_as_per_row(result):
    f = result.function
    n = 500
    frame = pd.DataFrame({"carat": np.linspace(0.2, 3.0, n),
                          "cut": np.resize([*CUTS, "Superb", None], n)})
    scores = f.score_frame(frame)
    assert scores.attrs["score_mode"] == "columns"
    rows = [f({"carat": c, "cut": k}) for c, k in frame.head(21).itertuples(index=False)]
    np.testing.assert_allclose(scores.head(21), rows, rtol=1e-12)


def test_a_ranked_read_is_a_text_column_for_scoring(result):
    assert "cut" in column_reads(result.function.source).text


def test_the_heldout_rho_is_the_same_on_places_and_on_raw_rows(result):
    raw = result.task.raw_rows.heldout
    outputs = result.function.predict(raw[["carat", "cut"]])
    np.testing.assert_allclose(outputs, result.heldout_scores, rtol=1e-9)


def test_the_exported_ordered_function_runs_without_rewardsmith(result, tmp_path):
    path = result.function.export(tmp_path / "reward.py")
    items = pd.DataFrame({"gem_id": ["x", "y", "z"], "carat": [1.0, 1.0, 2.0],
                          "cut": ["Ideal", "Superb", None]})
    items.to_csv(tmp_path / "items.csv", index=False)
    out = subprocess.run(["python3", "-I", "-S", str(path), str(tmp_path / "items.csv")],
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    f = result.function
    expected = [f({"carat": carat, "cut": cut})
                for carat, cut in [(1.0, "Ideal"), (1.0, "Superb"), (2.0, None)]]
    np.testing.assert_allclose([float(v) for v in out], expected, rtol=1e-12)


def test_the_estimator_fits_an_ordered_categorical_frame():
    from rewardsmith.sklearn import RewardRegressor

    frame = table()
    X, y = frame[["carat", "cut"]], frame["human_score"]
    model = RewardRegressor(program=RewardProgram(rounds=0, elicit_prior=False)).fit(X, y)
    assert "ranked(attrs[\"cut\"], CUT_ORDER" in model.function_.source
    as_text = X.assign(cut=X["cut"].astype(str))
    np.testing.assert_allclose(model.predict(X), model.predict(as_text), rtol=1e-12)


def test_score_file_reads_an_ordered_column_as_text_by_whole_columns(result, tmp_path):
    from rewardsmith.scoring.files import score_file

    items = table(n=300, seed=1, ordered=False)
    items.loc[::9, "cut"] = None
    items.to_csv(tmp_path / "items.csv", index=False)
    done = score_file(result.function, tmp_path / "items.csv", tmp_path / "scores.csv",
                      id_column="gem_id", progress=False)
    scored = pd.read_csv(tmp_path / "scores.csv")
    np.testing.assert_allclose(scored["score"], result.function.predict(items[["carat", "cut"]]),
                               rtol=1e-12)
    assert done.rows == 300 and done.mode == "columns"


@pytest.mark.parametrize("source", [
    'def score(attrs):\n    return 2 * attrs["carat"] - attrs["cut"]\n',
    'def score(attrs):\n    if attrs["cut"] > 2.5:\n        return attrs["carat"]\n'
    '    return max(attrs["carat"], attrs["cut"])\n',
    'def score(attrs):\n    total = 0.0\n    for name, value in attrs.items():\n'
    '        total += value\n    return total\n',
])
def test_a_function_on_places_written_back_scores_raw_rows_the_same(source):
    from rewardsmith.sandbox import ScoringFunction

    encoding = Encoding(("carat", "cut"), orders={"cut": CUTS}, order_medians={"cut": 2.0})
    features = pd.DataFrame({"carat": [0.5, 1.0, 2.0, 1.5], "cut": [0.0, 4.0, 2.0, 2.0]})
    raw = pd.DataFrame({"carat": [0.5, 1.0, 2.0, 1.5], "cut": ["Fair", "Ideal", None, "Odd"]})
    expected = ScoringFunction(source, ["carat", "cut"]).predict(features)
    for written in (encoding.raw_source(source), encoding.wrapped_source(source)):
        got = ScoringFunction(written, ["carat", "cut"]).predict(raw)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_the_run_page_reads_an_ordered_axis_by_its_levels(result):
    from rewardsmith.report import plots
    from rewardsmith.report.page import run_page

    fig = plots.new_figure()
    ax = fig.add_subplot(1, 1, 1)
    plots.level_axis(ax, CUTS)
    assert [label.get_text() for label in ax.get_xticklabels()] == list(CUTS)
    assert "ranked(attrs[&quot;cut&quot;], CUT_ORDER" in run_page(result, fragment=True)
