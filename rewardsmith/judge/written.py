"""Fitting a written function's PARAMS and scoring it by cross-validation.

- A function linear in its weights (``fitting.linear_form``) gets them in closed form: ridge shrunk
  toward the writer's own starting values, penalty and trust chosen by leave-one-out, shape
  constants chosen on a small grid, all of it again inside every CV fold.
- Other forms with PARAMS fall back to the general optimiser (Nelder-Mead on a rank surrogate,
  ``sandbox.params``), scored by a single 3-fold split because each fold costs many sandbox runs.
- A function with nothing to fit is scored as written on the CV rows (nothing was chosen on them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fitting import CVScore, LinearForm, cross_validate, find_linear_form, fit_linear
from ..metrics.spearman import spearman
from ..sandbox import SandboxError, ScoringFunction, replace_params

#: The fallback optimiser's effort per fold and at the end, and its fold count.
FALLBACK_EVALUATIONS = 120
FALLBACK_FOLDS = 3


@dataclass
class WrittenFit:
    function: ScoringFunction   # PARAMS fitted on all fit rows
    cv: CVScore
    detail: str


def fit_written(function: ScoringFunction, rows, cv_rows, sandbox, seed: int = 0, *,
                fit: bool = True, groups=None) -> WrittenFit:
    """Fit ``function`` on ``rows`` and score it by cross-validation on ``cv_rows``; with
    ``fit=False`` (or no PARAMS) it is scored as written. ``groups``: ``cv_rows`` that must share
    a fold. Raises ``SandboxError`` when the function fails on the rows."""
    columns = list(rows.attributes)
    if not (fit and function.params):
        outputs = sandbox.evaluate(function.source, columns, cv_rows.X, checked=True)
        cv = CVScore(spearman(outputs, cv_rows.y), 0.0, "as written: nothing fitted")
        return WrittenFit(function, cv, "scored as written, nothing fitted")
    form = find_linear_form(function, sandbox, columns, cv_rows.X, seed)
    if form is not None:
        fitted = _fit_linear_form(form, function, rows, cv_rows, sandbox, seed, groups)
        if fitted is not None:
            return fitted
    return _fit_general(function, rows, cv_rows, sandbox, seed)


# -- closed form ------------------------------------------------------------------------------
def _fit_linear_form(form: LinearForm, function, rows, cv_rows, sandbox, seed, groups=None):
    columns = list(rows.attributes)
    shapes, offsets, designs = _designs(form, sandbox, columns, cv_rows.X)
    if not shapes:
        return None
    y = cv_rows.y
    starts = np.array([form.start[name] for name in form.linear])
    models = [_Model(b, phi, starts) for b, phi in zip(offsets, designs, strict=True)]

    def fit_predict(train, test):
        model, fit = _best(models, train, y)
        return fit.rank_score(model.columns[test])

    cv = cross_validate(fit_predict, y, seed, groups)
    i = int(np.argmin([m.fit(slice(None), y).loo_mse for m in models]))
    shape = shapes[i]
    (b_all,), (phi_all,) = form.design(sandbox, columns, rows.X, [shape])
    final_model = _Model(b_all, phi_all, starts)
    fit = final_model.fit(slice(None), rows.y)
    weights = final_model.weights(fit)
    if weights is None:
        return None  # the fit wants the written part reversed: only the general optimiser can try
    values = {**shape, **dict(zip(form.linear, weights, strict=True))}
    fitted = ScoringFunction(replace_params(function.source, values), function.attributes,
                             name=function.name, sandbox=sandbox)
    detail = (f"{len(form.linear)} weights in closed form, ridge penalty {fit.penalty:.3g}, "
              f"written values trusted at scale {fit.prior_scale:.3g}")
    if form.shape:
        detail += ", shape " + ", ".join(f"{k}={v:.4g}" for k, v in shape.items())
    return WrittenFit(fitted, cv, detail)


class _Model:
    """One design: the written part ``b`` (a column when it varies) and the weights' terms."""

    def __init__(self, b, phi, starts):
        self.has_offset = bool(np.ptp(b) > 1e-12 * (1 + np.max(np.abs(b))))
        self.columns = np.column_stack([b, phi]) if self.has_offset else phi
        sd = self.columns.std(axis=0)
        # The writer's own numbers, in standard units, are the prior the weights shrink toward
        # (the written part counts with its implicit weight 1).
        self.prior = sd * (np.concatenate([[1.0], starts]) if self.has_offset else starts)

    def fit(self, rows, y):
        return fit_linear(self.columns[rows], y[rows], self.prior, mode="shrunk")

    def weights(self, fit):
        """The PARAMS values that rank like ``fit``; None when the written part's weight is not
        positive (the function's fixed part would have to be turned around)."""
        if not self.has_offset:
            return [float(w) for w in fit.coef]
        beta = float(fit.coef[0])
        if beta <= 0:
            return None
        return [float(w) / beta for w in fit.coef[1:]]


def _best(models, train, y):
    fits = [m.fit(train, y) for m in models]
    i = int(np.argmin([f.loo_mse for f in fits]))
    return models[i], fits[i]


def _designs(form, sandbox, columns, X):
    """Designs for every shape setting that runs; failing settings are dropped."""
    grid = form.shape_grid()
    try:
        offsets, designs = form.design(sandbox, columns, X, grid)
        ok = [bool(np.all(np.isfinite(o)) and np.all(np.isfinite(d)))
              for o, d in zip(offsets, designs, strict=True)]
        return ([s for s, k in zip(grid, ok, strict=True) if k],
                [o for o, k in zip(offsets, ok, strict=True) if k],
                [d for d, k in zip(designs, ok, strict=True) if k])
    except SandboxError:
        if len(grid) == 1:
            raise
    kept = ([], [], [])
    for shape in grid:  # one setting at a time, so one bad threshold does not sink the rest
        try:
            (b,), (phi,) = form.design(sandbox, columns, X, [shape])
        except SandboxError:
            continue
        if np.all(np.isfinite(b)) and np.all(np.isfinite(phi)):
            for part, value in zip(kept, (shape, b, phi), strict=True):
                part.append(value)
    return kept


# -- general fallback -------------------------------------------------------------------------
def _fit_general(function, rows, cv_rows, sandbox, seed):
    columns = list(rows.attributes)
    y = cv_rows.y
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    predicted = np.empty(n)
    for test in np.array_split(order, min(FALLBACK_FOLDS, n)):
        train = np.setdiff1d(order, test)
        fitted, _ = function.fit_params(cv_rows.X[train], y[train], attributes=columns,
                                        max_evaluations=FALLBACK_EVALUATIONS, seed=seed)
        predicted[test] = sandbox.evaluate(fitted.source, columns, cv_rows.X[test], checked=True)
    scheme = f"{FALLBACK_FOLDS}-fold ({n} rows), general optimiser"
    cv = CVScore(spearman(predicted, y), 0.0, scheme)
    fitted, report = function.fit_params(rows, seed=seed)
    detail = ("not linear in its PARAMS: fitted by Nelder-Mead on a rank surrogate"
              if report.improved else "not linear in its PARAMS; fitting did not improve it")
    return WrittenFit(fitted, cv, detail)
