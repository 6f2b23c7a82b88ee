"""The front of selected terms and FAST's pairs: the front never falls, the one-standard-error rule
takes the shortest point within one error, ``max_terms`` caps it, FAST finds a planted interaction
and offers nothing on noise, and a function with products of hinges runs without rewardsmith and
in column mode as it does row by row."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_sandbox_function import base_python

from rewardsmith.data.rows import RowTable
from rewardsmith.fitting import Front, Term, term_front
from rewardsmith.fitting.pairs import interacting_pairs, rank_pairs
from rewardsmith.fitting.terms import hinge_products, term_library
from rewardsmith.judge import Judge
from rewardsmith.programs import RewardProgram
from rewardsmith.sandbox import Sandbox
from rewardsmith.sandbox.runner import Rows


def interaction_table(n, seed=0, interaction=True, noise_columns=4):
    """y = x0 + x1, plus 3 x max(x0, 0) x max(x1, 0) when ``interaction``; the rest is noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2 + noise_columns))
    y = X[:, 0] + X[:, 1] + 0.3 * rng.normal(size=n)
    if interaction:
        y = y + 3.0 * np.maximum(X[:, 0], 0.0) * np.maximum(X[:, 1], 0.0)
    names = [f"a{j}" for j in range(X.shape[1])]
    return RowTable(pd.DataFrame(X, columns=names).assign(t=y), names, "t")


def hand_front(rhos, ses) -> Front:
    terms = [Term("linear", j) for j in range(len(rhos))]
    return Front(terms, list(rhos), list(ses))


# -- the front and the one-standard-error rule --------------------------------------------------

def test_the_front_never_falls_as_terms_are_added():
    rows = interaction_table(600)
    front = term_front(rows.X, rows.y, attributes=rows.attributes)
    assert len(front.terms) >= 3
    assert all(b > a for a, b in zip(front.cv_rho, front.cv_rho[1:], strict=False))
    assert len(front.cv_se) == len(front.terms) and all(se >= 0 for se in front.cv_se)


def test_the_rule_takes_the_fewest_terms_within_one_standard_error_of_the_best():
    front = hand_front([0.50, 0.60, 0.655, 0.66, 0.67], [0.02, 0.02, 0.02, 0.02, 0.02])
    assert front.size() == 3            # 0.655 >= 0.67 - 0.02; 0.60 is not
    assert len(front.chosen()) == 3
    assert [p["chosen"] for p in front.points()] == [False, False, True, False, False]


def test_with_no_error_the_rule_takes_the_best_point():
    front = hand_front([0.50, 0.60, 0.70], [0.0, 0.0, 0.0])
    assert front.size() == 3


def test_max_terms_caps_the_choice_at_the_best_of_the_shorter_points():
    front = hand_front([0.50, 0.60, 0.655, 0.66, 0.67], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert front.size(max_terms=2) == 2
    assert front.size(max_terms=0) == 0


def test_on_a_table_with_two_true_terms_the_rule_stops_short_of_the_longest_front():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 6))
    y = 2.0 * X[:, 0] + 3.0 * np.maximum(X[:, 1] - 0.5, 0.0) + 0.5 * rng.normal(size=800)
    front = term_front(X, y, seed=0)
    chosen = front.chosen()
    assert len(chosen) < len(front.terms)
    assert {0, 1} <= {t.a for t in chosen}          # both true attributes are in
    assert not any(t.a >= 2 and t.b < 0 for t in chosen[:2])   # noise is not what comes first
    best = int(np.argmax(front.cv_rho))
    assert front.cv_rho[len(chosen) - 1] >= front.cv_rho[best] - front.cv_se[best]
    if len(chosen) > 1:   # and the point before it is not within one error
        assert front.cv_rho[len(chosen) - 2] < front.cv_rho[best] - front.cv_se[best]


def test_a_function_of_any_size_on_the_front_can_be_taken():
    rows = interaction_table(400)
    front = term_front(rows.X, rows.y, attributes=rows.attributes)
    short = front.function(1)
    assert short.source.count("\n        + ") + short.source.count("\n        - ") == 1
    assert "as asked" in short.source or front.size() == 1
    with pytest.raises(ValueError, match="functions of 1 to"):
        front.function(len(front.terms) + 1)


def test_the_judge_caps_selected_terms_at_max_terms():
    rows = interaction_table(400)
    judge = Judge(rows, max_terms=2)
    assert judge.front is not None and len(judge.front.terms) == 2
    by_name = {c.name: c for c in judge.candidates}
    assert "2 of 2 terms" in by_name["selected terms"].detail or \
        "1 of 2 terms" in by_name["selected terms"].detail


def test_under_100_rows_there_is_no_front():
    assert Judge(interaction_table(60)).front is None


def test_the_printed_front_marks_the_chosen_size():
    front = hand_front([0.50, 0.60, 0.655, 0.66, 0.67, 0.671], [0.02] * 6)
    lines = front.text().splitlines()
    assert "one standard error" in lines[0]
    assert "  3*0.655" in lines[1] and len(lines) == 3   # five points a line


# -- FAST --------------------------------------------------------------------------------------

def test_fast_ranks_a_planted_interaction_first():
    rows = interaction_table(1000)
    residuals = rows.y - (rows.X[:, 0] + rows.X[:, 1])
    ranked = rank_pairs(rows.X, residuals)
    assert (ranked[0].a, ranked[0].b) == (0, 1)
    assert ranked[0].gain > 5 * ranked[1].gain
    assert [(p.a, p.b) for p in interacting_pairs(rows.X, residuals, top=3)][:1] == [(0, 1)]


@pytest.mark.parametrize("seed", range(5))
def test_fast_offers_no_pair_on_pure_noise(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, 6))
    assert interacting_pairs(X, rng.normal(size=800), top=8, seed=seed) == []


def test_an_additive_table_is_offered_no_product_of_hinges():
    rows = interaction_table(800, interaction=False)
    assert not [t for t in term_library(rows.X, rows.y) if t.kind == "pair"]


def test_a_planted_interaction_gets_products_of_hinges_and_the_front_takes_one():
    rows = interaction_table(800)
    assert any({t.a, t.b} == {0, 1} for t in hinge_products(rows.X, rows.y - rows.X[:, 0]
                                                          - rows.X[:, 1], 4))
    chosen = term_front(rows.X, rows.y).chosen()
    assert any(t.kind in ("pair", "product") and {t.a, t.b} == {0, 1} for t in chosen)


def test_a_product_of_hinges_reads_as_two_hinges():
    term = Term("pair", 0, 1, knot=0.5, knot_b=-1.2, side_a=1, side_b=-1)
    assert term.source(["x", "y"]) == 'max(attrs["x"] - 0.5, 0.0) * max(-1.2 - attrs["y"], 0.0)'
    X = np.array([[1.0, -2.0], [0.0, -2.0], [1.0, 0.0]])
    np.testing.assert_array_equal(term.values(X), [0.5 * 0.8, 0.0, 0.0])


# -- the exported function ---------------------------------------------------------------------

def test_a_function_with_products_of_hinges_runs_without_rewardsmith_and_in_column_mode(
        tmp_path):
    rows = interaction_table(600)
    front = term_front(rows.X, rows.y, attributes=rows.attributes)
    function = front.function()
    assert "max(" in function.source
    expected = function.predict(rows)
    csv = tmp_path / "items.csv"
    rows.frame.to_csv(csv, index=False)
    path = function.export(tmp_path / "reward.py")
    proc = subprocess.run([base_python(), "-I", "-S", str(path), str(csv)], env={},
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose([float(v) for v in proc.stdout.split()], expected, rtol=1e-12)
    packed = Rows.pack(tuple(rows.attributes), np.asarray(rows.X, dtype=np.float64))
    with Sandbox(timeout_s=10, columns=True) as sandbox:
        by_columns = sandbox.evaluate_columns(function.source, packed)
        by_rows = sandbox.evaluate_packed(function.source, packed)
    np.testing.assert_allclose(by_columns, by_rows, rtol=1e-12)
    np.testing.assert_allclose(by_columns, expected, rtol=1e-12)


# -- what a user sees --------------------------------------------------------------------------

def test_run_prints_the_front_and_max_terms_caps_it(capsys, tmp_path):
    from fake_openai_server import FakeOpenAIServer
    from scripted_responders import make_responder

    from rewardsmith.cli import main
    from rewardsmith.programs import RewardProgram

    rows = interaction_table(300)
    data = tmp_path / "items.csv"
    rows.frame.to_csv(data, index=False)
    program = RewardProgram(rounds=0).save(tmp_path / "program.json")
    with FakeOpenAIServer(make_responder(prior={"a0": "higher"})) as server:
        base = ["run", "--program", str(program), "--data", str(data), "--target", "t",
                "--lm", "openai/fake-model", "--api-base", server.url, "--no-cache"]
        assert main(base) == 0
        out = capsys.readouterr().out
        assert "selected terms: CV rho of the search by number of terms" in out
        assert main([*base, "--max-terms", "3"]) == 0
        capped = capsys.readouterr().out
    front = capped[capped.index("selected terms: CV rho"):].split("\n\n")[0]
    assert "  3" in front and "  4" not in front   # three points, no more
    assert "(one-standard-error rule)" in capped


def test_the_run_page_plots_the_front(tmp_path):
    from rewardsmith.report.page import run_page

    rows = interaction_table(300)
    result = RewardProgram(rounds=0, elicit_prior=False).run(
        rows.frame, target="t", attributes=list(rows.attributes))
    assert result.front is not None and len(result.front.terms) >= 2
    page = run_page(result)
    assert "Selected terms: CV rho by number of terms" in page
    assert "result.front_function(n)" in page
    shorter = result.front_function(1)
    assert shorter.source.count(" * ") <= 2 and "def score(attrs)" in shorter.source


def test_front_function_without_a_front_says_why():
    rows = interaction_table(60)
    result = RewardProgram(rounds=0, elicit_prior=False).run(
        rows.frame, target="t", attributes=list(rows.attributes))
    with pytest.raises(ValueError, match="need at least 100 fit rows, and it had 48"):
        result.front_function(2)


def test_front_function_with_selection_off_names_the_setting():
    rows = interaction_table(300)
    result = RewardProgram(rounds=0, elicit_prior=False, select_terms=False).run(
        rows.frame, target="t", attributes=list(rows.attributes))
    with pytest.raises(ValueError, match="select_terms=False"):
        result.front_function(2)


def test_a_wide_table_ranks_pairs_only_among_the_columns_closest_to_the_target():
    from rewardsmith.fitting.terms import MAX_FAST_COLUMNS

    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 80))
    y = X[:, 70] + X[:, 75] + 3.0 * np.maximum(X[:, 70], 0) * np.maximum(X[:, 75], 0)
    y = y + 0.3 * rng.normal(size=1500)
    pairs = [t for t in term_library(X, y) if t.kind == "pair"]
    assert pairs and any({t.a, t.b} == {70, 75} for t in pairs)
    strength = np.abs([stats.spearmanr(X[:, j], y).statistic for j in range(80)])
    near = set(np.argsort(-strength)[:MAX_FAST_COLUMNS])
    assert all(t.a in near and t.b in near for t in pairs)


def test_max_terms_is_kept_in_the_program_file(tmp_path):
    path = RewardProgram(rounds=0, max_terms=7).save(tmp_path / "program.json")
    assert RewardProgram.from_file(path).max_terms == 7
    assert RewardProgram.from_file(RewardProgram().save(tmp_path / "p2.json")).max_terms is None


def test_the_front_stops_only_when_no_term_improves_the_search_rho():
    # Long-tailed attributes make products of hinges look best to the linear screen while they
    # rank worse; the front must still not stop while some term improves the exact rho.
    from rewardsmith.fitting import terms as T

    rng = np.random.default_rng(4)
    X = np.exp(rng.normal(size=(400, 5)))
    y = np.log(X[:, 0]) + np.sqrt(X[:, 1]) + 0.5 * rng.normal(size=400)
    front = term_front(X, y, max_terms=40)
    assert 0 < len(front.terms) < 40
    library = term_library(X, y)
    Z, _, _ = T.standardize(T.term_matrix(library, X))
    Z = np.column_stack([np.ones(len(y)), Z])
    tests = T._search_folds(len(y), None, 0)
    folds = [T._fold(Z, y, test) for test in tests]
    chosen = [0] + [library.index(t) + 1 for t in front.terms]
    pool = np.array([c for c in range(1, Z.shape[1]) if c not in chosen])
    _, predicted = T._cv_rhos(Z, folds, chosen, pool, T._centred_ranks(y))
    exact = T._centred_ranks(predicted) @ T._centred_ranks(y)
    assert exact.max() <= front.cv_rho[-1] + T.MIN_IMPROVEMENT
