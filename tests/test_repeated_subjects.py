"""Panel data: an inferred id that repeats names subjects judged several times, not rows. Their
rows stay on one side of a random fit/held-out cut, so no subject is scored on itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import load_dataset, split_frames
from rewardsmith.data.dataset import DatasetError


def panel(subjects=40, visits=3, seed=0):
    rng = np.random.default_rng(seed)
    n = subjects * visits
    subject = np.repeat(np.arange(subjects), visits)
    level = rng.normal(size=subjects)[subject]  # each subject's own level: what a leak learns
    a = rng.normal(size=n)
    return pd.DataFrame({"id": subject, "a": a, "b": level + rng.normal(scale=0.1, size=n),
                         "human_score": a + level + rng.normal(scale=0.2, size=n)})


def test_an_inferred_id_that_repeats_is_a_group_and_rows_are_numbered():
    ds = load_dataset(panel())
    assert ds.group_column == "id" and ds.id_column == "row_id"
    assert "id" not in ds.attributes
    assert any("names groups" in note for note in ds.notes)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_subject_is_on_both_sides_of_the_random_cut(seed):
    ds = load_dataset(panel())
    fit, held = split_frames(ds, seed=seed)
    assert not set(fit["id"]) & set(held["id"])
    assert len(fit) + len(held) == len(ds.frame)
    assert 0.15 * len(ds.frame) <= len(held) <= 0.3 * len(ds.frame)


def test_a_row_with_no_subject_is_a_group_of_its_own():
    frame = panel()
    frame["id"] = frame["id"].astype(float)
    frame.loc[[0, 5, 9], "id"] = np.nan
    ds = load_dataset(frame)
    fit, held = split_frames(ds, seed=0)
    assert len(fit) + len(held) == len(frame)
    assert not set(fit["id"].dropna()) & set(held["id"].dropna())


def test_a_stray_duplicate_id_is_still_an_error_naming_it():
    frame = panel(subjects=20, visits=1)
    frame.loc[3, "id"] = 7
    with pytest.raises(DatasetError, match="duplicated id 7 in column 'id'"):
        load_dataset(frame)


def test_an_id_the_caller_names_must_still_be_unique():
    with pytest.raises(DatasetError, match="duplicated id"):
        load_dataset(panel(), id_column="id")


def test_a_table_without_groups_is_cut_as_before():
    frame = panel(subjects=60, visits=1)
    ds = load_dataset(frame)
    assert ds.group_column is None
    fit, held = split_frames(ds, seed=3)
    order = np.random.default_rng(3).permutation(60)
    assert list(held["id"]) == sorted(order[:12])

