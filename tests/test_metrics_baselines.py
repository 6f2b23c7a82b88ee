"""Baselines: readable functions with the right numbers, fitted on fit rows only."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rewardsmith.data import RowTable, load_dataset, make_task
from rewardsmith.metrics import complexity, ols, ridge, run_baselines, signed_mean


def synthetic(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 2.0 * X[:, 0] - 1.0 * X[:, 1] + 0.1 * rng.normal(size=n)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["human_score"] = y
    frame["id"] = [f"r{i}" for i in range(n)]
    return RowTable(frame, ("a", "b", "c"), "human_score", "id")


def test_ols_on_aadb_test_split_matches_reference_0_940():
    task = make_task(load_dataset("aadb"))
    result = {r.name: r.rho for r in run_baselines(task.fit_rows, task.heldout_rows)}
    assert abs(result["ols"] - 0.940) <= 0.005


def test_ols_source_prints_coefficients_that_reproduce_numpy_lstsq():
    fit = synthetic()
    function = ols(fit)
    design = np.column_stack([np.ones(len(fit)), fit.X])
    coef = np.linalg.lstsq(design, fit.y, rcond=None)[0]
    assert f"{coef[1]:.6g}" in function.source
    np.testing.assert_allclose(function.predict(fit), design @ coef, rtol=1e-4, atol=1e-4)


def test_signed_mean_flips_negatively_correlated_attributes():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(80, 2)), columns=["a", "b"])
    frame["human_score"] = frame["a"] - frame["b"]  # equal weights, b negative
    fit = RowTable(frame, ("a", "b"), "human_score")
    function = signed_mean(fit)
    # Unsigned, the mean a + b would be uncorrelated with a - b; signed, it ranks perfectly.
    assert stats.spearmanr(function.predict(fit), fit.y).statistic > 0.99
    assert '- (attrs["b"]' in function.source


def test_ridge_holds_where_ols_collapses_on_few_rows():
    dataset = load_dataset("aadb")
    ridge_rho, ols_rho = [], []
    for seed in range(8):
        task = make_task(dataset, fit_size=10, seed=seed)
        results = {r.name: r.rho for r in run_baselines(task.fit_rows, task.heldout_rows)}
        ridge_rho.append(results["ridge"])
        ols_rho.append(results["ols"])
    assert np.mean(ridge_rho) > np.mean(ols_rho) + 0.1


def test_ridge_penalty_is_reported_in_source():
    assert "penalty" in ridge(synthetic()).source


def test_constant_attribute_does_not_break_baselines():
    fit = synthetic()
    frame = fit.frame.copy()
    frame["c"] = 1.0
    table = RowTable(frame, ("a", "b", "c"), "human_score", "id")
    for function in (signed_mean(table), ols(table), ridge(table)):
        assert np.all(np.isfinite(function.predict(table)))


def test_complexity_counts_nodes_not_docstrings_or_comments():
    short = "def score(attrs):\n    return attrs['a']\n"
    documented = 'def score(attrs):\n    """Doc."""\n    # note\n    return attrs["a"]\n'
    longer = "def score(attrs):\n    return attrs['a'] * 2 + attrs['b']\n"
    assert complexity(short) == complexity(documented)
    assert complexity(longer) > complexity(short)


@pytest.mark.parametrize("name", ["signed_mean", "ols", "ridge"])
def test_baseline_export_runs_without_rewardsmith(tmp_path, name):
    import subprocess
    import sys

    fit = synthetic()
    function = {"signed_mean": signed_mean, "ols": ols, "ridge": ridge}[name](fit)
    path = function.export(tmp_path / f"{name}.py")
    csv = tmp_path / "rows.csv"
    fit.frame.to_csv(csv, index=False)
    out = subprocess.run([sys.executable, "-I", str(path), str(csv)], capture_output=True,
                         text=True, env={}, check=True).stdout.split()
    np.testing.assert_allclose(np.array(out, dtype=float), function.predict(fit), rtol=1e-9)
