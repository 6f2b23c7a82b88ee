"""Cross-validation on the fit rows: how candidates are compared without touching held-out rows.

Few rows get leave-one-out; more rows get repeated k-fold (CAAFE keeps a feature only when
RepeatedKFold improves, the same idea). Every hyperparameter a candidate chooses (penalty, prior
scale, a shape constant) is chosen again inside each training fold, so a candidate's score is not
flattered by choices made on the rows it is scored on.

The score is Spearman rho between the out-of-fold predictions and the target, pooled over the
folds of one repeat and averaged over repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .rank import spearman

#: Up to this many rows, leave-one-out; above it, ``REPEATS`` x ``FOLDS``-fold.
LOO_MAX_ROWS = 40
FOLDS = 5
REPEATS = 3


@dataclass(frozen=True)
class CVScore:
    rho: float       # mean over repeats of the pooled out-of-fold Spearman rho
    spread: float    # standard deviation over repeats (0 for leave-one-out)
    scheme: str      # "leave-one-out (20 rows)" or "3 x 5-fold (800 rows)"


def folds(n: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Test-row indices grouped by repeat: leave-one-out for few rows, else repeated k-fold."""
    if n < 3:
        raise ValueError("cross-validation needs at least 3 rows")
    if n <= LOO_MAX_ROWS:
        return [[np.array([i]) for i in range(n)]]
    rng = np.random.default_rng(seed)
    return [np.array_split(rng.permutation(n), FOLDS) for _ in range(REPEATS)]


def scheme_name(n: int) -> str:
    return (f"leave-one-out ({n} rows)" if n <= LOO_MAX_ROWS
            else f"{REPEATS} x {FOLDS}-fold ({n} rows)")


def cross_validate(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], y,
                   seed: int = 0) -> CVScore:
    """Score ``fit_predict(train_index, test_index) -> predictions for the test rows``.

    A fold whose fit fails or returns non-finite values makes the candidate score -1.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    everything = np.arange(n)
    rhos = []
    for repeat in folds(n, seed):
        predicted = np.empty(n)
        for test in repeat:
            train = np.setdiff1d(everything, test, assume_unique=True)
            predicted[test] = fit_predict(train, test)
        rhos.append(spearman(predicted, y))
    return CVScore(float(np.mean(rhos)), float(np.std(rhos)), scheme_name(n))
