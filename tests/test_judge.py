"""The judge: a correct prior helps where rows are few, a wrong one is overruled, written forms
are read as linear in their PARAMS, and every candidate is scored by the same cross-validation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rewardsmith.data.rows import RowTable
from rewardsmith.fitting import Prior, find_linear_form
from rewardsmith.judge import Judge
from rewardsmith.metrics.baselines import ridge
from rewardsmith.sandbox import ScoringFunction, default_sandbox

TRUTH = np.array([1.0, -1.0, 0.8, -0.6, 0.5, 0.3])
NAMES = [f"a{j}" for j in range(len(TRUTH))]


def draw(seed, n, noise=1.5):
    """A table whose truth is known: y is linear in six attributes with known signs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + 500, len(TRUTH)))
    frame = pd.DataFrame(X, columns=NAMES)
    frame["t"] = X @ TRUTH + noise * rng.normal(size=n + 500)
    return RowTable(frame.iloc[:n], NAMES, "t"), RowTable(frame.iloc[n:], NAMES, "t")


def prior_of(signs) -> Prior:
    pairs = zip(NAMES, signs, strict=True)
    return Prior.from_dict({a: "higher" if s > 0 else "lower" for a, s in pairs})


def held_out(function, rows) -> float:
    return stats.spearmanr(function.predict(rows), rows.y).statistic


def mean_rho(n, signs, draws=30):
    judged, plain = [], []
    for seed in range(draws):
        fit, heldout = draw(seed, n)
        judge = Judge(fit, prior_of(signs), seed=seed)
        judged.append(held_out(judge.winner().function, heldout))
        plain.append(held_out(ridge(fit), heldout))
    return float(np.mean(judged)), float(np.mean(plain))


def test_a_correct_prior_with_ten_rows_beats_plain_ridge():
    judged, plain = mean_rho(10, np.sign(TRUTH))
    assert judged > plain + 0.05, (judged, plain)


def test_a_wrong_prior_is_overruled_by_cross_validation():
    judged, plain = mean_rho(20, -np.sign(TRUTH))
    assert judged > plain - 0.02, (judged, plain)


def test_the_statistical_candidates_are_always_there_and_ridge_without_a_prior():
    fit, _ = draw(0, 15)
    assert [c.name for c in Judge(fit, prior_of(TRUTH)).candidates] == [
        "prior", "ridge", "shrunk ridge"]
    assert [c.name for c in Judge(fit).candidates] == ["ridge"]
    judge = Judge(fit, prior_of(TRUTH))
    assert "leave-one-out (15 rows)" in judge.standings()
    assert judge.standings().count("*") == 1


def test_a_written_function_wins_only_by_more_than_min_gain():
    fit, _ = draw(1, 30, noise=0.3)
    judge = Judge(fit, min_gain=0.01)
    same_as_ridge = ("PARAMS = {" + ", ".join(f'"w{j}": 1.0' for j in range(6)) + "}\n"
                     "def score(attrs):\n    return " + " + ".join(
                         f'PARAMS["w{j}"] * attrs["a{j}"]' for j in range(6)) + "\n")
    attempt = judge.judge(1, same_as_ridge)
    assert attempt.ok, attempt.feedback
    assert "must beat the statistical answer, ridge" in attempt.feedback
    assert judge.winner().name == "ridge"
    assert Judge(fit, min_gain=-1.0).judge(1, same_as_ridge).ok


def test_written_weights_are_fitted_in_closed_form_and_the_peak_is_searched():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 8, size=300)
    frame = pd.DataFrame({"x": x, "t": -(x - 4.0) ** 2 + 0.1 * rng.normal(size=300)})
    rows = RowTable(frame, ["x"], "t")
    source = ('PARAMS = {"w": 1.0, "c": 3.0}\n'
              'def score(attrs):\n    return PARAMS["w"] * (attrs["x"] - PARAMS["c"]) ** 2\n')
    judge = Judge(rows, min_gain=0.01, select_terms=False)  # the written form against a line
    attempt = judge.judge(1, source)
    fitted = ScoringFunction(attempt.source)
    assert fitted.params["w"] < 0  # the written sign was wrong; the rows overrule it
    assert fitted.params["c"] == 3.75  # the grid point nearest the true peak at 4
    assert attempt.cv_rho > 0.9 and "closed form" in attempt.feedback
    assert judge.winner().name == "attempt 1"  # a straight line cannot rank a peak
    # With selected terms competing, hinges can bend around the peak too: a line still loses.
    assert Judge(rows, min_gain=0.01).winner().name == "selected terms"


def test_a_function_that_fails_on_the_rows_is_reported_not_raised():
    fit, _ = draw(2, 12)
    attempt = Judge(fit).judge(1, "def score(attrs):\n    return attrs['a0'] / 0\n")
    assert not attempt.ok and "ZeroDivisionError" in attempt.feedback


def test_linear_weights_fixed_offsets_and_shape_constants_are_told_apart():
    fit, _ = draw(3, 40)
    source = ('PARAMS = {"w0": 0.5, "w1": -0.2, "bias": 3.0, "c": 0.1}\n'
              'def score(attrs):\n'
              '    return (PARAMS["w0"] * attrs["a0"] + PARAMS["w1"] * max(attrs["a1"] - '
              'PARAMS["c"], 0) + PARAMS["bias"])\n')
    form = find_linear_form(ScoringFunction(source), default_sandbox(), NAMES, fit.X)
    assert form.linear == ("w0", "w1") and form.fixed == ("bias",) and form.shape == ("c",)


def test_weights_that_multiply_each_other_are_not_taken_as_linear():
    fit, _ = draw(3, 40)
    source = ('PARAMS = {"a": 1.0, "b": 2.0}\n'
              'def score(attrs):\n    return PARAMS["a"] * PARAMS["b"] * attrs["a0"] '
              '+ PARAMS["b"] * attrs["a1"]\n')
    assert find_linear_form(ScoringFunction(source), default_sandbox(), NAMES, fit.X) is None


def test_a_form_not_linear_in_its_params_falls_back_to_the_general_optimiser():
    fit, _ = draw(5, 30, noise=0.3)
    source = ('PARAMS = {"p": 1.0}\n'
              'def score(attrs):\n    return attrs["a0"] - attrs["a1"] + '
              'abs(attrs["a2"]) ** PARAMS["p"] + PARAMS["p"] ** 3 * attrs["a3"]\n')
    attempt = Judge(fit, min_gain=-1.0).judge(1, source)
    assert attempt.ok, attempt.feedback
    assert "not linear in its PARAMS" in attempt.feedback


def test_cross_validation_uses_at_most_the_capped_rows_and_the_final_fit_all(monkeypatch):
    import rewardsmith.judge.judge as judge_module

    monkeypatch.setattr(judge_module, "CV_MAX_ROWS", 50)
    fit, _ = draw(6, 120)
    judge = Judge(fit)
    assert len(judge.cv_rows) == 50
    assert "3 x 5-fold (50 rows)" in judge.standings()
    assert "120 fit rows" in judge.candidates[0].function.source


@pytest.mark.parametrize("n", [3, 4])
def test_tiny_tables_still_get_candidates(n):
    fit, _ = draw(7, n)
    judge = Judge(fit, prior_of(TRUTH))
    assert judge.winner().function is not None


def with_cv(judge, **scores):
    """The judge with its statistical candidates' CV scores set by hand."""
    from rewardsmith.fitting import CVScore

    for c in judge.candidates:
        if c.name.replace(" ", "_") in scores:
            c.cv = CVScore(scores[c.name.replace(" ", "_")], 0.0, "by hand")
    return judge


def test_the_shrunk_ridge_is_overruled_only_by_more_than_min_gain():
    fit, _ = draw(5, 20)
    judge = Judge(fit, prior_of(TRUTH), min_gain=0.01)
    assert with_cv(judge, prior=0.805, ridge=0.80, shrunk_ridge=0.80).statistical_choice.name \
        == "shrunk ridge"
    assert with_cv(judge, prior=0.815, ridge=0.82, shrunk_ridge=0.80).statistical_choice.name \
        == "ridge"
    assert with_cv(judge, prior=0.85, ridge=0.82, shrunk_ridge=0.80).statistical_choice.name \
        == "prior"


def test_the_seed_programs_judge_never_overrules_its_default():
    fit, _ = draw(6, 20)
    judge = with_cv(Judge(fit, min_gain=float("inf")), ridge=0.1)
    assert judge.statistical_choice.name == "ridge"
