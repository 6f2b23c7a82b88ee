"""Selected terms: forward selection finds a planted bend, reads as code, competes only where rows
are many, and wins only when cross-validation says it beats the linear answer."""

import numpy as np
import pandas as pd
from scipy import stats

from rewardsmith.data.rows import RowTable
from rewardsmith.fitting import Term, fit_terms, select_terms, term_matrix, terms_function
from rewardsmith.fitting.terms import MIN_ROWS, term_library
from rewardsmith.judge import Judge
from rewardsmith.metrics import evaluate_function

NAMES = ["x", "noise", "z"]


def bent_table(n, seed=0, bend=True):
    """y rises with x only above x = 1 (a threshold), falls with z linearly; 'noise' is noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    signal = (3.0 * np.maximum(X[:, 0] - 1.0, 0.0) if bend else 0.8 * X[:, 0]) - 0.5 * X[:, 2]
    y = signal + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame(X, columns=NAMES).assign(t=y)
    return RowTable(frame, NAMES, "t")


def test_selection_finds_a_planted_threshold():
    rows = bent_table(600)
    terms = select_terms(rows.X, rows.y)
    assert any(t.kind == "above" and t.a == 0 and 0.5 <= t.knot <= 1.5 for t in terms)
    assert any(t.a == 2 for t in terms)  # z's slope is found too
    assert not any(t.a == 1 and t.kind != "product" for t in terms[:3])  # noise is not first


def test_selection_stops_at_max_terms():
    rows = bent_table(400)
    assert len(select_terms(rows.X, rows.y, max_terms=2)) == 2


def test_the_rendered_function_computes_what_was_fitted():
    rows = bent_table(300, seed=1)
    terms = select_terms(rows.X, rows.y) + [Term("log", 0), Term("product", 0, 2)]
    fit = fit_terms(rows.X, rows.y, terms)
    function = terms_function("t", "doc", fit.intercept, fit.coef, terms, NAMES)
    expected = fit.predict(term_matrix(terms, rows.X))
    # Coefficients are printed with 6 significant digits.
    np.testing.assert_allclose(function.predict(rows), expected, rtol=1e-4, atol=1e-4)
    assert function.source.startswith("import math")


def test_a_negative_knot_reads_as_a_plus():
    assert Term("above", 0, knot=-0.4).source(["x"]) == 'max(attrs["x"] + 0.4, 0.0)'
    assert Term("below", 0, knot=2.5).source(["x"]) == 'min(attrs["x"] - 2.5, 0.0)'
    assert Term("above", 0, knot=0.0).source(["x"]) == 'max(attrs["x"], 0.0)'


def test_a_log_term_never_takes_the_log_of_a_negative_value():
    term = Term("log", 0)
    assert term.source(["x"]) == 'math.log1p(max(attrs["x"], 0.0))'
    assert np.all(np.isfinite(term.values(np.array([[-5.0], [0.0], [3.0]]))))


def test_logs_are_offered_only_for_attributes_that_are_never_negative():
    X = np.column_stack([np.arange(50.0), np.arange(50.0) - 10])
    logs = {t.a for t in term_library(X) if t.kind == "log"}
    assert logs == {0}


def test_a_constant_attribute_gives_no_term():
    X = np.column_stack([np.ones(50), np.arange(50.0)])
    assert all(t.a == 1 and t.b == -1 for t in term_library(X))


def test_the_judge_offers_selected_terms_only_from_min_rows():
    few = Judge(bent_table(MIN_ROWS - 1))
    many = Judge(bent_table(MIN_ROWS + 100))
    assert "selected terms" not in [c.name for c in few.candidates]
    assert "selected terms" in [c.name for c in many.candidates]


def test_selected_terms_win_where_the_truth_bends_and_rank_held_out_rows_better():
    rows, heldout = bent_table(800, seed=2), bent_table(2000, seed=3)
    judge = Judge(rows)
    winner = judge.winner()
    assert winner.name == "selected terms"
    by_name = {c.name: c for c in judge.candidates}
    ridge_rho = evaluate_function(by_name["ridge"].function, heldout).rho
    assert evaluate_function(winner.function, heldout).rho > ridge_rho + 0.05
    assert "selected terms" in judge.standings()


def test_selected_terms_do_not_win_where_the_truth_is_a_straight_line():
    for seed in range(3):
        judge = Judge(bent_table(400, seed=seed, bend=False), seed=seed)
        assert judge.winner().name == "ridge"


def test_the_seed_programs_judge_selects_no_terms():
    judge = Judge(bent_table(300), fit_constants=False, min_gain=float("inf"),
                  select_terms=False)
    assert [c.name for c in judge.candidates] == ["ridge"]


def test_selected_terms_rank_better_than_ridge_on_a_bent_table_over_draws():
    gains = []
    for seed in range(4):
        rows, heldout = bent_table(300, seed=seed), bent_table(1000, seed=100 + seed)
        terms = select_terms(rows.X, rows.y, seed=seed)
        fit = fit_terms(rows.X, rows.y, terms)
        ours = stats.spearmanr(fit.predict(term_matrix(terms, heldout.X)), heldout.y).statistic
        linear = fit_terms(rows.X, rows.y, [Term("linear", j) for j in range(3)])
        theirs = stats.spearmanr(linear.predict(heldout.X), heldout.y).statistic
        gains.append(ours - theirs)
    assert min(gains) > 0


def test_a_wide_table_offers_products_only_among_the_columns_closest_to_the_target():
    from rewardsmith.fitting.terms import MAX_PRODUCT_COLUMNS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 40))
    y = X[:, 39] + X[:, 38] + rng.normal(scale=0.1, size=60)
    products = [t for t in term_library(X, y) if t.kind == "product"]
    assert len(products) == MAX_PRODUCT_COLUMNS * (MAX_PRODUCT_COLUMNS - 1) // 2
    assert any({t.a, t.b} == {38, 39} for t in products)  # the two that matter are paired
    narrow = X[:, :MAX_PRODUCT_COLUMNS]
    assert len([t for t in term_library(narrow, y) if t.kind == "product"]) == \
        MAX_PRODUCT_COLUMNS * (MAX_PRODUCT_COLUMNS - 1) // 2  # up to the cap: every pair
