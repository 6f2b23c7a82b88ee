"""The explainable boosting machine reference: fitted on fit rows only, fast down to a few rows."""

import math
import sys

import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import RowTable
from rewardsmith.metrics import ebm_rho


def table(n, seed=0):
    """y = a - b + noise; c is noise the model has to leave out."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["human_score"] = frame["a"] - frame["b"] + 0.2 * rng.normal(size=n)
    return RowTable(frame, ("a", "b", "c"), "human_score")


def split(n, fit_rows, seed=0):
    rows = table(n, seed).frame
    return (RowTable(rows.iloc[:fit_rows], ("a", "b", "c"), "human_score"),
            RowTable(rows.iloc[fit_rows:], ("a", "b", "c"), "human_score"))


def test_ebm_ranks_held_out_rows_of_an_additive_target():
    fit, heldout = split(200, 150)
    assert ebm_rho(fit, heldout, seed=0) > 0.8


@pytest.mark.parametrize("fit_rows", [5, 10])
def test_ebm_fits_a_handful_of_rows(fit_rows):
    # Under 7 rows the library's 15% validation share is no row; ebm_rho holds one back so the
    # bags stop early (seconds, not minutes).
    fit, heldout = split(fit_rows + 200, fit_rows)
    rho = ebm_rho(fit, heldout, seed=0)
    assert math.isfinite(rho) and -1.0 <= rho <= 1.0


def test_ebm_on_one_row_ranks_nothing():
    fit, heldout = split(51, 1)
    assert math.isnan(ebm_rho(fit, heldout))


def test_ebm_without_interpret_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "interpret.glassbox", None)  # import fails as if missing
    fit, heldout = split(40, 20)
    with pytest.raises(ImportError, match=r"pip install 'rewardsmith\[sklearn\]'"):
        ebm_rho(fit, heldout)
