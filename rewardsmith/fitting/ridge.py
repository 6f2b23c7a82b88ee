"""Generalized ridge shrunk toward a prior, with its penalty and the prior's scale chosen by
exact leave-one-out cross-validation in closed form.

The model is ``y ~ intercept + Z w`` on standardized columns ``Z`` with ``w = s * g + delta``:
``g`` is the prior (a direction and size per column, in standard units), ``s >= 0`` how far the
data trust it, and ``delta`` the data's correction, penalised by ``penalty * |delta|^2``.

- ``s = 0`` is plain ridge (so the fit nests the ridge baseline exactly);
- ``penalty = inf`` is the prior alone, rescaled;
- in between, the prior is trusted as far as leave-one-out error supports it (the idea of
  LLM-Lasso, arXiv 2502.10648, with a ridge penalty so everything stays in closed form).

For a fixed penalty the leave-one-out residuals are linear in ``s`` (the hat matrix does not
depend on the target), so the best ``s`` is a one-line least-squares solution. One SVD of ``Z``
serves the whole penalty grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Penalties tried, as multiples of the number of rows (standardized columns): the ridge baseline's
#: grid since the first benchmark.
PENALTY_GRID = tuple(np.logspace(-4, 2, 25))
#: Modes of ``fit_linear``: what may be fitted.
MODES = ("ridge", "shrunk", "prior")


@dataclass(frozen=True)
class LinearFit:
    """Coefficients on the original (unstandardized) columns, and how they were chosen."""

    coef: np.ndarray
    intercept: float
    penalty: float        # inf for the prior alone
    prior_scale: float    # s: 0 for plain ridge
    loo_mse: float        # leave-one-out mean squared error of the chosen setting
    target_mean: float = 0.0  # mean target of the fit rows

    def predict(self, Phi: np.ndarray) -> np.ndarray:
        return self.intercept + np.asarray(Phi, dtype=np.float64) @ self.coef

    def rank_score(self, Phi: np.ndarray) -> np.ndarray:
        """The prediction less the fit rows' mean target: what ranks rows, centred where the fit
        rows' columns are. Cross-validation pools these over folds. The mean target is left out
        because each fold's (the mean without the left-out rows) is anti-correlated with the
        left-out targets and would drag a weak model's pooled rho down. The columns' centre must
        stay in: ``Phi @ coef`` alone is offset by ``coef @ mean(Phi)``, which moves from fold
        to fold by far more than the rows differ when a column sits far from zero (wine's
        density, about 0.99 with a weight of about -100), and the pooled rho was then noise."""
        return self.predict(Phi) - self.target_mean


def standardize(Phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Z, mean, sd): centred columns divided by their spread; constant columns stay 0 (sd 1)."""
    mean = Phi.mean(axis=0)
    sd = Phi.std(axis=0)
    sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mean)), sd, 0.0)
    safe = np.where(sd > 0, sd, 1.0)
    Z = (Phi - mean) / safe
    Z[:, sd == 0] = 0.0
    return Z, mean, sd


def fit_linear(Phi, y, prior=None, *, mode: str = "shrunk",
               grid=PENALTY_GRID) -> LinearFit:
    """Fit ``y ~ Phi`` (n x p) by ridge (``mode="ridge"``), ridge shrunk toward ``prior``
    (``"shrunk"``) or the prior alone rescaled (``"prior"``).

    ``prior`` holds one number per column in standard units (direction x importance); columns
    with prior 0 are shrunk toward 0 as in ridge. ``grid`` holds penalties as multiples of n.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    Phi = np.asarray(Phi, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = Phi.shape
    if n < 2:
        raise ValueError("fitting needs at least 2 rows")
    g = np.zeros(p) if prior is None else np.asarray(prior, dtype=np.float64)
    if g.shape != (p,):
        raise ValueError(f"the prior has {g.size} entries for {p} columns")
    if mode == "prior" and not np.any(g):
        raise ValueError("the prior alone needs at least one non-zero direction")
    Z, mean, sd = standardize(Phi)
    g = np.where(sd > 0, g, 0.0)
    ybar = float(y.mean())
    yc = y - ybar
    u = Z @ g
    if mode == "prior":
        w, s, mse = _prior_alone(yc, u, g, n)
        return _on_raw_scale(w, mean, sd, ybar, np.inf, s, mse)

    U, d, Vt = np.linalg.svd(Z, full_matrices=False)
    penalties = np.asarray(grid, dtype=np.float64) * n
    shrink = d[None, :] ** 2 / (d[None, :] ** 2 + penalties[:, None])      # (grid, k)
    leverage = np.clip((U**2) @ shrink.T + 1.0 / n, 0.0, 1 - 1e-9)          # (n, grid)
    # Leave-one-out residuals of the data part (a) and of the prior's part per unit s (b).
    a = (yc[:, None] - U @ (shrink.T * (U.T @ yc)[:, None])) / (1 - leverage)
    b = (u[:, None] - U @ (shrink.T * (U.T @ u)[:, None])) / (1 - leverage)
    scales = np.zeros(len(penalties))
    if mode == "shrunk":
        bb = np.einsum("ig,ig->g", b, b)
        ab = np.einsum("ig,ig->g", a, b)
        scales = np.where(bb > 0, np.maximum(0.0, ab / np.where(bb > 0, bb, 1.0)), 0.0)
    mse = np.mean((a - scales * b) ** 2, axis=0)
    # The first of equal errors wins: the grid runs from weak to strong penalties.
    i = int(np.argmin(np.where(mse < mse.min() + 1e-12, np.arange(len(mse)), len(mse))))
    mse, penalty, s = float(mse[i]), float(penalties[i]), float(scales[i])
    inverse = d / (d**2 + penalty)
    w = s * g + Vt.T @ (inverse * (U.T @ (yc - s * u)))
    return _on_raw_scale(w, mean, sd, ybar, penalty, s, mse)


def _prior_alone(yc, u, g, n):
    """The prior's own weights, scaled by least squares but never flipped (a prior the data
    contradict keeps its sign and loses on cross-validation instead)."""
    uu = float(u @ u)
    s = float(yc @ u / uu) if uu > 0 else 0.0
    if s <= 0:
        s = float(np.std(yc) / np.sqrt(uu / n)) if uu > 0 else 1.0
    mse = float(np.mean(((yc - s * u) / (1 - 1.0 / n)) ** 2))
    return s * g, s, mse


def _on_raw_scale(w, mean, sd, ybar, penalty, s, mse) -> LinearFit:
    coef = np.where(sd > 0, w / np.where(sd > 0, sd, 1.0), 0.0)
    intercept = ybar - float(coef @ mean)
    return LinearFit(coef, intercept, penalty, s, mse, ybar)
