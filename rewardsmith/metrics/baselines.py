"""Baselines a learned function has to beat, each itself a readable ``ScoringFunction``.

- ``signed_mean``: the mean of standardized attributes, each signed by its rank correlation with
  the target on the fit rows (no fitting beyond means, spreads and signs).
- ``ols``: ordinary least squares on the fit rows.
- ``ridge``: ridge regression on standardized attributes, its penalty chosen by leave-one-out
  cross-validation on the fit rows. With 10-20 fit rows OLS collapses while ridge holds, so ridge
  is the honest bar in the few-row regime.

Every baseline is fitted on fit rows only; its source prints the coefficients on the raw scale of
the attributes so it can be read, exported and checked like any LLM-written function.
``gradient_boosting_rho`` is an optional black-box reference (needs scikit-learn).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..sandbox import ScoringFunction
from .spearman import evaluate_function

#: Ridge penalties tried, as multiples of the number of fit rows (standardized attributes).
RIDGE_GRID = tuple(np.logspace(-4, 2, 25))


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
        f"        {'+' if w > 0 else '-'} ({_key(name)} - {_num(m)}) * {_num(abs(w))}"
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
    return _linear_function("ols", doc, coef[0], coef[1:], fit.attributes)


def ridge(fit, grid=RIDGE_GRID) -> ScoringFunction:
    """Ridge on standardized attributes; penalty = (grid value x rows) chosen by leave-one-out."""
    X, y = fit.X, fit.y
    n = len(y)
    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd_safe = np.where(sd > 0, sd, 1.0)
    Z = (X - mean) / sd_safe
    yc = y - y.mean()
    best = None
    for factor in grid:
        alpha = factor * n
        w, loo = _ridge_loo(Z, yc, alpha)
        if best is None or loo < best[0] - 1e-12:
            best = (loo, alpha, w)
    _, alpha, w = best
    raw = w / sd_safe
    intercept = y.mean() - float(raw @ mean)
    doc = (
        f"Ridge regression on {n} fit rows, standardized attributes, penalty {alpha:.4g} "
        "chosen by leave-one-out cross-validation."
    )
    return _linear_function("ridge", doc, intercept, raw, fit.attributes)


def _ridge_loo(Z: np.ndarray, yc: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge weights and the exact leave-one-out mean squared error (hat-matrix shortcut)."""
    k = Z.shape[1]
    A = Z.T @ Z + alpha * np.eye(k)
    w = np.linalg.solve(A, Z.T @ yc)
    H_diag = np.einsum("ij,ji->i", Z, np.linalg.solve(A, Z.T))
    # Centering y counts as one more fitted parameter; 1/n joins each row's leverage.
    leverage = np.clip(H_diag + 1.0 / len(yc), 0, 1 - 1e-9)
    residual = (yc - Z @ w) / (1 - leverage)
    return w, float(np.mean(residual**2))


def _linear_function(name, doc, intercept, coef, attributes) -> ScoringFunction:
    lines = [f"        {_num(intercept)}"]
    for c, a in zip(coef, attributes, strict=True):
        if c == 0:
            continue
        lines.append(f"        {'+' if c > 0 else '-'} {_num(abs(c))} * {_key(a)}")
    source = (
        f'def score(attrs):\n    """{doc}"""\n    return (\n' + "\n".join(lines) + "\n    )\n"
    )
    return ScoringFunction(source, attributes, name=name)


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
    """Held-out rho of scikit-learn's GradientBoostingRegressor: a black-box reference only."""
    try:
        from sklearn.ensemble import GradientBoostingRegressor
    except ImportError:
        raise ImportError(
            "gradient boosting needs scikit-learn: pip install 'rewardsmith[sklearn]'"
        ) from None
    model = GradientBoostingRegressor(random_state=seed).fit(fit.X, fit.y)
    return float(stats.spearmanr(model.predict(heldout.X), heldout.y).statistic)


def _num(value: float) -> str:
    return repr(float(f"{float(value):.6g}"))


def _key(name: str) -> str:
    return f"attrs[{json.dumps(name)}]"
