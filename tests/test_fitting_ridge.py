"""The shrunk ridge fit: it nests ridge exactly, its leave-one-out error is exact, and the prior
is trusted only as far as leave-one-out supports it."""

import numpy as np
import pytest

from rewardsmith.data.rows import RowTable
from rewardsmith.fitting import fit_linear, standardize
from rewardsmith.metrics.baselines import ridge


def table(n=15, p=5, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.arange(1, p + 1) + 3.0
    truth = rng.normal(size=p)
    y = X @ truth + noise * rng.normal(size=n)
    return X, y, truth


def closed_form_ridge(X, y, penalty):
    Z, _, sd = standardize(X)
    w = np.linalg.solve(Z.T @ Z + penalty * np.eye(X.shape[1]), Z.T @ (y - y.mean()))
    return w / sd


def brute_force_loo(X, y, penalty, scale, prior):
    """Refit without each row (standardization from all rows, intercept refitted)."""
    Z, _, _ = standardize(X)
    n, p = Z.shape
    errors = []
    for i in range(n):
        keep = np.arange(n) != i
        design = np.column_stack([np.ones(keep.sum()), Z[keep]])
        offset = scale * Z[keep] @ prior
        coef = np.linalg.solve(design.T @ design + np.diag([0.0] + [penalty] * p),
                               design.T @ (y[keep] - offset))
        errors.append((y[i] - coef[0] - Z[i] @ (coef[1:] + scale * prior)) ** 2)
    return float(np.mean(errors))


def test_a_zero_prior_gives_exactly_closed_form_ridge():
    X, y, _ = table()
    one = fit_linear(X, y, np.zeros(5), mode="shrunk", grid=(0.5,))
    np.testing.assert_allclose(one.coef, closed_form_ridge(X, y, 0.5 * len(y)), atol=1e-6)
    assert one.prior_scale == 0.0
    chosen_by_loo = fit_linear(X, y, np.zeros(5), mode="shrunk")
    np.testing.assert_allclose(chosen_by_loo.coef,
                               closed_form_ridge(X, y, chosen_by_loo.penalty), atol=1e-6)
    np.testing.assert_allclose(chosen_by_loo.coef, fit_linear(X, y, mode="ridge").coef,
                               atol=1e-12)


def test_the_ridge_baseline_is_the_same_fit():
    X, y, _ = table()
    frame = {f"a{j}": X[:, j] for j in range(5)}
    import pandas as pd

    rows = RowTable(pd.DataFrame({**frame, "t": y}), list(frame), "t")
    fit = fit_linear(X, y, mode="ridge")
    np.testing.assert_allclose(ridge(rows).predict(rows), fit.predict(X), rtol=1e-5)


def test_leave_one_out_error_is_exact():
    X, y, truth = table(n=12, p=4, seed=3)
    prior = np.sign(truth)
    fit = fit_linear(X, y, prior, mode="shrunk")
    assert fit.loo_mse == pytest.approx(
        brute_force_loo(X, y, fit.penalty, fit.prior_scale, prior), rel=1e-9)


def test_a_prior_pointing_the_right_way_is_trusted_and_a_wrong_one_is_not():
    X, y, truth = table(n=30, p=5, seed=1, noise=0.5)
    Z, _, sd = standardize(X)
    right = fit_linear(X, y, truth * sd, mode="shrunk")
    wrong = fit_linear(X, y, -truth * sd, mode="shrunk")
    assert right.prior_scale > 0.5
    assert wrong.prior_scale == 0.0


def test_the_prior_alone_keeps_its_signs_even_when_the_rows_disagree():
    X, y, truth = table(n=20, p=3, seed=2, noise=0.1)
    Z, _, sd = standardize(X)
    fit = fit_linear(X, y, -np.sign(truth), mode="prior")
    assert np.all(np.sign(fit.coef) == -np.sign(truth))


def test_constant_columns_get_no_weight_and_break_nothing():
    X, y, _ = table(n=10, p=3)
    X[:, 1] = 7.0
    for mode in ("ridge", "shrunk", "prior"):
        fit = fit_linear(X, y, np.array([1.0, 1.0, 1.0]), mode=mode)
        assert fit.coef[1] == 0.0 and np.all(np.isfinite(fit.predict(X)))


def test_bad_shapes_and_modes_are_refused_with_the_reason():
    X, y, _ = table(n=10, p=3)
    with pytest.raises(ValueError, match="2 entries for 3 columns"):
        fit_linear(X, y, np.ones(2))
    with pytest.raises(ValueError, match="mode must be one of"):
        fit_linear(X, y, mode="lasso")
    with pytest.raises(ValueError, match="at least one non-zero"):
        fit_linear(X, y, np.zeros(3), mode="prior")
