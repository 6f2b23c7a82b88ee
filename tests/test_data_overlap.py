"""Held-out rows that repeat a fit row are found exactly, so the benchmark can score the rest."""

import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import seen_in_fit
from rewardsmith.data.rows import RowTable


def rows(values):
    frame = pd.DataFrame(np.asarray(values, dtype=float), columns=["a", "b"])
    return RowTable(frame.assign(t=np.arange(len(frame), dtype=float)), ["a", "b"], "t")


def test_exact_repeats_are_marked_and_near_ones_are_not():
    fit = rows([[1.0, 2.0], [3.0, 4.0]])
    held = rows([[1.0, 2.0], [1.0, 2.0000001], [3.0, 4.0], [4.0, 3.0]])
    assert seen_in_fit(fit, held).tolist() == [True, False, True, False]


def test_negative_zero_repeats_zero():
    assert seen_in_fit(rows([[0.0, 1.0]]), rows([[-0.0, 1.0]])).tolist() == [True]


def test_different_attribute_counts_are_refused():
    other = RowTable(pd.DataFrame({"a": [1.0], "t": [0.0]}), ["a"], "t")
    with pytest.raises(ValueError, match="attributes"):
        seen_in_fit(rows([[1.0, 2.0]]), other)
