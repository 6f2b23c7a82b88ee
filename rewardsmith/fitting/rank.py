"""Spearman rho with the metric's failure rules: the one rank correlation the package computes
(the metric on held-out rows, cross-validation on fit rows, the estimator's ``score``)."""

from __future__ import annotations

import numpy as np
from scipy import stats

#: The score of a function that fails, or whose outputs are non-finite or constant.
FAILURE_SCORE = -1.0


def spearman(outputs: np.ndarray, target: np.ndarray) -> float:
    """Spearman rho with the failure rules of the metric (non-finite or constant -> -1)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if len(outputs) < 2 or not np.all(np.isfinite(outputs)) or np.ptp(outputs) == 0:
        return FAILURE_SCORE
    rho = stats.spearmanr(outputs, target).statistic
    return float(rho) if np.isfinite(rho) else FAILURE_SCORE
