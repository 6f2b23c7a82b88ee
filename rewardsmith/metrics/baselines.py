"""Baselines a learned function has to beat, each itself a readable ``ScoringFunction``.

- ``signed_mean``: the mean of standardized attributes, each signed by its rank correlation with
  the target on the fit rows (no fitting beyond means, spreads and signs).
- ``ols``: ordinary least squares on the fit rows.
- ``ridge``: ridge regression on standardized attributes, its penalty chosen by leave-one-out
  cross-validation on the fit rows. With 10-20 fit rows OLS collapses while ridge holds, so ridge
  is the honest bar in the few-row regime.

Every baseline is fitted on fit rows only; its source prints the coefficients on the raw scale of
the attributes so it can be read, exported and checked like any LLM-written function.
``gradient_boosting_rho`` is an optional black-box reference (needs scikit-learn); ``ebm_rho``
an optional additive one (interpret's explainable boosting machine, in the same extra).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..fitting.render import attr_key, linear_function, number
from ..fitting.ridge import PENALTY_GRID, fit_linear
from ..sandbox import ScoringFunction
from .spearman import evaluate_function

#: Ridge penalties tried, as multiples of the number of fit rows (standardized attributes).
RIDGE_GRID = PENALTY_GRID


@dataclass
class BaselineResult:
    name: str
    function: ScoringFunction
    rho: float  # held-out Spearman rho (-1.0 if the rows were empty or the function failed)


def signed_mean(fit) -> ScoringFunction:
    """Mean of z-scored attributes, each multiplied by the sign of its Spearman rho on ``fit``."""
    X, y = fit.X, fit.y
    mean, sd = X.mean(axis=0), X.std(axis=0)
    terms = []
    for j, name in enumerate(fit.attributes):
        if sd[j] == 0:
            continue  # a constant attribute carries no ranking information
        rho = stats.spearmanr(X[:, j], y).statistic
        sign = 0.0 if not np.isfinite(rho) or rho == 0 else float(np.sign(rho))
        if sign:
            terms.append((name, sign / sd[j], mean[j]))
    if not terms:
        terms = [(name, 1.0 / sd[j] if sd[j] else 1.0, mean[j])
                 for j, name in enumerate(fit.attributes)]
    body = "\n".join(
        f"        {'+' if w > 0 else '-'} ({attr_key(name)} - {number(m)}) * {number(abs(w))}"
        for name, w, m in terms
    )
    header = (
        f'"""Signed mean of standardized attributes, fitted on {len(y)} rows: each attribute is\n'
        f'    z-scored with its fit-row mean and spread and signed by its rank correlation."""'
    )
    source = (
        f"def score(attrs):\n    {header}\n    total = (\n{body}\n    )\n"
        f"    return total / {len(terms)}\n"
    )
    return ScoringFunction(source, fit.attributes, name="signed_mean")


def ols(fit) -> ScoringFunction:
    """Ordinary least squares with an intercept on the raw attributes."""
    X, y = fit.X, fit.y
    design = np.column_stack([np.ones(len(y)), X])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    doc = f"Ordinary least squares on {len(y)} fit rows ({fit.target} ~ attributes)."
    return linear_function("ols", doc, coef[0], coef[1:], fit.attributes)


def ridge(fit, grid=PENALTY_GRID) -> ScoringFunction:
    """Ridge on standardized attributes; penalty = (grid value x rows) chosen by leave-one-out."""
    result = fit_linear(fit.X, fit.y, mode="ridge", grid=grid)
    doc = (
        f"Ridge regression on {len(fit.y)} fit rows, standardized attributes, penalty "
        f"{result.penalty:.4g} chosen by leave-one-out cross-validation."
    )
    return linear_function("ridge", doc, result.intercept, result.coef, fit.attributes)


BASELINES = {"signed_mean": signed_mean, "ols": ols, "ridge": ridge}


def run_baselines(fit, heldout, names=tuple(BASELINES)) -> list[BaselineResult]:
    """Fit each named baseline on ``fit`` rows and score it on ``heldout`` rows."""
    results = []
    for name in names:
        function = BASELINES[name](fit)
        rho = evaluate_function(function, heldout).rho if len(heldout) else -1.0
        results.append(BaselineResult(name, function, rho))
    return results


def gradient_boosting_rho(fit, heldout, seed: int = 0) -> float:
    """Held-out rho of scikit-learn's gradient boosting: a black-box reference."""
    predicted = gradient_boosting_predictions(fit, heldout.X, seed)
    return float(stats.spearmanr(predicted, heldout.y).statistic)


def gradient_boosting_predictions(fit, X, seed: int = 0) -> np.ndarray:
    """Scikit-learn's gradient boosting fitted on ``fit``, predicting the rows of ``X``."""
    try:
        from sklearn.ensemble import GradientBoostingRegressor
    except ImportError:
        raise ImportError(
            "gradient boosting needs scikit-learn: pip install 'rewardsmith[sklearn]'"
        ) from None
    return GradientBoostingRegressor(random_state=seed).fit(fit.X, fit.y).predict(X)


def ebm_rho(fit, heldout, seed: int = 0) -> float:
    """Held-out rho of interpret's ExplainableBoostingRegressor: an additive reference (a shape
    function per attribute plus pairwise terms), readable as plots, not as ``score(attrs)``."""
    if len(fit.y) < 2:
        return float("nan")  # one row ranks nothing: a constant prediction, as gbm's would be
    return float(stats.spearmanr(ebm_predictions(fit, heldout.X, seed), heldout.y).statistic)


def ebm_predictions(fit, X, seed: int = 0) -> np.ndarray:
    """Interpret's ExplainableBoostingRegressor fitted on ``fit`` (at least 2 rows), predicting
    the rows of ``X``."""
    try:
        from interpret.glassbox import ExplainableBoostingRegressor
    except ImportError:
        raise ImportError(
            "the explainable boosting machine needs interpret: "
            "pip install 'rewardsmith[sklearn]'"
        ) from None
    rows = len(fit.y)
    # Each outer bag stops early on a validation share of the fit rows, the library's 15% rounded
    # down. Under 7 rows that is no row at all, so no bag can stop and each of the 14 runs every
    # one of max_rounds (minutes for 5 rows); hold back one row instead. From 7 rows on, defaults.
    validation_size = 0.15 if rows >= 7 else 1
    model = ExplainableBoostingRegressor(
        feature_names=list(fit.attributes), validation_size=validation_size,
        n_jobs=1,  # bags one after another in this process: no worker pool on a small machine
        random_state=seed,
    ).fit(fit.X, fit.y)
    return model.predict(X)
