"""Scoring the scoring functions: Spearman metric (+ GEPA feedback), complexity, baselines."""

from .baselines import (
    BASELINES,
    BaselineResult,
    ebm_predictions,
    ebm_rho,
    gradient_boosting_predictions,
    gradient_boosting_rho,
    ols,
    ridge,
    run_baselines,
    signed_mean,
)
from .complexity import complexity
from .spearman import (
    FAILURE_SCORE,
    Evaluation,
    evaluate_function,
    feedback_text,
    spearman,
    spearman_feedback_metric,
    spearman_metric,
)

__all__ = [
    "BASELINES", "FAILURE_SCORE", "BaselineResult", "Evaluation", "complexity", "ebm_predictions",
    "ebm_rho",
    "evaluate_function", "feedback_text", "gradient_boosting_predictions",
    "gradient_boosting_rho", "ols", "ridge",
    "run_baselines", "signed_mean", "spearman", "spearman_feedback_metric", "spearman_metric",
]
