"""The Spearman metric: hand-computed values, ties, constants, failures, both calling forms."""

import dspy
import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import RowTable
from rewardsmith.metrics import (
    FAILURE_SCORE,
    evaluate_function,
    spearman,
    spearman_feedback_metric,
    spearman_metric,
)
from rewardsmith.sandbox import ScoringFunction


def rows(values_a, target, values_b=None):
    frame = pd.DataFrame({"item": [f"i{k}" for k in range(len(target))],
                          "a": values_a, "human_score": target})
    attributes = ("a",)
    if values_b is not None:
        frame["b"] = values_b
        attributes = ("a", "b")
    return RowTable(frame, attributes, "human_score", "item")


def task(fit, heldout):
    return dspy.Example(fit_rows=fit, heldout_rows=heldout).with_inputs("fit_rows")


IDENTITY = "def score(attrs):\n    return attrs['a']\n"


def test_perfect_ranking_scores_one():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([1, 2, 3, 4], [10, 20, 30, 40]))
    assert spearman_metric(gold, dspy.Prediction(code=IDENTITY)) == pytest.approx(1.0)


def test_reversed_ranking_scores_minus_one():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([1, 2, 3, 4], [4, 3, 2, 1]))
    assert spearman_metric(gold, dspy.Prediction(code=IDENTITY)) == pytest.approx(-1.0)


def test_hand_computed_rho_with_one_swap():
    # ranks of outputs 1 2 3 4 5 against target ranks 1 2 4 3 5: d^2 sum = 2, n = 5
    # rho = 1 - 6 * 2 / (5 * 24) = 0.9
    gold = task(rows([1, 2], [1, 2]), rows([1, 2, 3, 4, 5], [1, 2, 4, 3, 5]))
    assert spearman_metric(gold, dspy.Prediction(code=IDENTITY)) == pytest.approx(0.9)


def test_ties_in_target_use_average_ranks():
    outputs = np.array([1.0, 2.0, 3.0, 4.0])
    target = np.array([1.0, 1.0, 2.0, 3.0])
    # average ranks of target: 1.5 1.5 3 4; Pearson of (1,2,3,4) with that = 0.9486833
    assert spearman(outputs, target) == pytest.approx(0.9486833, abs=1e-6)


def test_constant_output_scores_failure_with_reason():
    heldout = rows([1, 2, 3], [1, 2, 3])
    result = evaluate_function("def score(attrs):\n    return 5.0\n", heldout)
    assert result.rho == FAILURE_SCORE
    assert "constant output" in result.reason


def test_raising_function_scores_failure_and_names_the_line():
    source = "def score(attrs):\n    x = 1\n    return attrs['a'] / 0\n"
    result = evaluate_function(source, rows([1, 2, 3], [1, 2, 3]))
    assert result.rho == FAILURE_SCORE
    assert result.line == 3
    assert "ZeroDivisionError" in result.reason


def test_non_finite_output_scores_failure():
    source = "import math\ndef score(attrs):\n    return math.log(attrs['a'])\n"
    result = evaluate_function(source, rows([0.0, 1.0, 2.0], [1, 2, 3]))
    assert result.rho == FAILURE_SCORE
    assert "ValueError" in result.reason or "non-finite" in result.reason


def test_unsafe_code_scores_failure_without_running():
    result = evaluate_function("import os\ndef score(attrs):\n    return 1\n",
                               rows([1, 2, 3], [1, 2, 3]))
    assert result.rho == FAILURE_SCORE
    assert "safety check" in result.reason and "import of 'os'" in result.reason


def test_missing_function_scores_failure():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([1, 2, 3], [1, 2, 3]))
    assert spearman_metric(gold, dspy.Prediction(function=None, code=None)) == FAILURE_SCORE


def test_three_and_five_argument_calls_return_the_same_number():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]))
    pred = dspy.Prediction(code=IDENTITY)
    plain = spearman_metric(gold, pred)
    five = spearman_metric(gold, pred, None, "write", None)
    feedback = spearman_feedback_metric(gold, pred, None, None, None)
    assert plain == five == feedback.score
    assert plain == pytest.approx(0.8)


def test_feedback_names_rho_and_most_wrongly_ranked_fit_items():
    fit = rows([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 6, 5])
    gold = task(fit, rows([1, 2, 3], [1, 2, 3]))
    feedback = spearman_feedback_metric(gold, dspy.Prediction(code=IDENTITY)).feedback
    assert "Held-out Spearman rho 1.000" in feedback
    assert "fit rows rho is 0.943" in feedback
    assert "item i4" in feedback or "item i5" in feedback


def test_feedback_never_lists_heldout_items():
    fit = rows([1, 2, 3, 4], [1, 2, 4, 3])
    heldout = RowTable(
        pd.DataFrame({"item": ["SECRET1", "SECRET2", "SECRET3"], "a": [3, 1, 2],
                      "human_score": [1, 2, 3]}), ("a",), "human_score", "item")
    feedback = spearman_feedback_metric(task(fit, heldout), dspy.Prediction(code=IDENTITY)).feedback
    assert "SECRET" not in feedback


def test_feedback_for_failure_carries_the_error_and_line():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([1, 2, 3], [1, 2, 3]))
    source = "def score(attrs):\n    return attrs['missing']\n"
    result = spearman_feedback_metric(gold, dspy.Prediction(code=source))
    assert result.score == FAILURE_SCORE
    assert "line 2" in result.feedback and "KeyError" in result.feedback


def test_scoring_function_object_is_accepted_as_prediction():
    gold = task(rows([1, 2, 3], [1, 2, 3]), rows([3, 2, 1], [1, 2, 3]))
    pred = dspy.Prediction(function=ScoringFunction(IDENTITY))
    assert spearman_metric(gold, pred) == pytest.approx(-1.0)
