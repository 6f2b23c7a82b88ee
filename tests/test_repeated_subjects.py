"""Panel data: a group column (named, or an inferred id that repeats) names subjects judged
several times, not rows. Their rows stay on one side of a random fit/held-out cut and of every
cross-validation fold, so no subject is scored on itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import RowTable, load_dataset, make_task, split_frames
from rewardsmith.data.dataset import DatasetError
from rewardsmith.fitting import folds
from rewardsmith.judge import Judge
from rewardsmith.sklearn import RewardRegressor


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



def test_a_named_group_column_keeps_its_subjects_on_one_side_of_the_cut():
    frame = panel().rename(columns={"id": "rater_id"})
    ds = load_dataset(frame, group_column="rater_id")
    assert ds.group_column == "rater_id" and "rater_id" not in ds.attributes
    fit, held = split_frames(ds, seed=1)
    assert not set(fit["rater_id"]) & set(held["rater_id"])


def test_a_group_column_that_is_missing_or_the_target_is_refused():
    with pytest.raises(DatasetError, match="group column 'rater' not found.*available"):
        load_dataset(panel(), group_column="rater")
    with pytest.raises(DatasetError, match="cannot be the group column"):
        load_dataset(panel(), group_column="human_score")


def subject_only_rows(subjects=30, visits=6, seed=0):
    """Each subject's attributes barely change between its rows and the target is the subject's
    own level: nothing carries over to a new subject, but a flexible fit recognises old ones."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(subjects), visits)
    n = len(subject)
    frame = pd.DataFrame(rng.normal(size=(subjects, 3))[subject]
                         + rng.normal(scale=0.01, size=(n, 3)), columns=["a", "b", "c"])
    frame["id"] = subject
    frame["human_score"] = rng.normal(size=subjects)[subject] + rng.normal(scale=0.1, size=n)
    return frame


def test_cv_folds_keep_each_subject_in_one_fold():
    task = make_task(load_dataset(subject_only_rows()))
    rows = task.fit_rows
    judge = Judge(rows)
    subjects = rows.groups
    for repeat in folds(len(rows), seed=0, groups=judge.cv_groups):
        for test in repeat:
            assert set(subjects[test]).isdisjoint(np.delete(subjects, test))


def test_cv_does_not_reward_recognising_subjects():
    rows = make_task(load_dataset(subject_only_rows())).fit_rows
    grouped = {c.name: c.cv.rho for c in Judge(rows).candidates}
    # The same rows without their subjects: cross-validation scores the memoriser on its own
    # subjects, which is what the groups are there to stop.
    plain = RowTable(rows.frame, rows.attributes, rows.target, rows.id_column)
    ungrouped = {c.name: c.cv.rho for c in Judge(plain).candidates}
    assert ungrouped["selected terms"] > 0.6
    assert grouped["selected terms"] < 0.2


def test_the_estimator_given_groups_does_not_choose_what_recognises_subjects(scripted):
    frame = subject_only_rows()
    X, y = frame[["a", "b", "c"]].to_numpy(), frame["human_score"].to_numpy()
    assert RewardRegressor(rounds=1, samples=1).fit(X, y).chosen_ == "selected terms"
    grouped = RewardRegressor(rounds=1, samples=1).fit(X, y, groups=frame["id"].to_numpy())
    assert grouped.chosen_ != "selected terms"


def test_the_estimator_refuses_groups_of_the_wrong_length(scripted):
    frame = subject_only_rows()
    with pytest.raises(ValueError, match="groups has 3 labels for 180 samples"):
        RewardRegressor(rounds=1, samples=1).fit(frame[["a", "b"]], frame["human_score"],
                                                 groups=[1, 2, 3])


def test_a_table_written_by_r_keeps_rownames_as_id_and_a_repeating_id_as_groups():
    frame = panel()
    frame.insert(0, "rownames", np.arange(1, len(frame) + 1))
    ds = load_dataset(frame)
    assert ds.id_column == "rownames" and ds.group_column == "id"
    assert "rownames" not in ds.attributes and "id" not in ds.attributes


def test_a_repeating_subject_id_is_the_group_not_a_column_dropped_beside_a_random_cut():
    frame = panel().rename(columns={"id": "subject_id"})
    ds = load_dataset(frame)
    assert ds.group_column == "subject_id" and "subject_id" not in ds.attributes
    fit, held = split_frames(ds, seed=1)
    assert not set(fit["subject_id"]) & set(held["subject_id"])


def test_a_rater_named_user_id_is_the_group_beside_an_item_id_that_names_rows():
    frame = panel().rename(columns={"id": "user_id"})
    frame["user_id"] = "u" + frame["user_id"].astype(str)
    frame.insert(0, "image_id", [f"img{i}" for i in range(len(frame))])
    ds = load_dataset(frame)
    assert ds.id_column == "image_id" and ds.group_column == "user_id"


def test_a_star_id_column_with_few_values_codes_a_category_and_is_no_group():
    frame = panel()
    frame["league_id"] = np.where(frame["a"] > 0, "AL", "NL")
    ds = load_dataset(frame.drop(columns="id"))
    assert ds.group_column is None and "league_id" not in ds.attributes


def test_a_distinct_star_id_column_is_no_group():
    frame = panel(subjects=30, visits=1).rename(columns={"id": "visit_id"})
    ds = load_dataset(frame)
    assert ds.group_column is None and "visit_id" not in ds.attributes


# -- a card that names the group (the corpus's panels) --------------------------------------
PANEL_CARD = {"name": "visits", "resources": [{"name": "visits", "schema": {"fields": [
    {"name": "patient", "type": "string", "description": "who was seen"},
    {"name": "a", "type": "number", "description": "a reading"},
    {"name": "b", "type": "number", "description": "another reading"},
    {"name": "human_score", "type": "number", "description": "how well the visit went"}]},
    "rewardsmith": {"target": "human_score", "better": "higher", "group": "patient"}}]}


def test_a_card_that_names_the_group_keeps_its_subjects_on_one_side():
    frame = panel().rename(columns={"id": "patient"})
    ds = load_dataset(frame, card=PANEL_CARD)
    assert ds.group_column == "patient" and list(ds.attributes) == ["a", "b"]
    fit, held = split_frames(ds, seed=2)
    assert not set(fit["patient"]) & set(held["patient"])


def test_a_group_the_card_names_but_the_table_lacks_says_to_fix_the_card():
    with pytest.raises(DatasetError, match="group column 'patient' not found.*fix the card"):
        load_dataset(panel(), card=PANEL_CARD)


def test_the_callers_group_column_wins_over_the_cards():
    frame = panel().rename(columns={"id": "patient"})
    frame["ward"] = frame["patient"] // 4
    ds = load_dataset(frame, card=PANEL_CARD, group_column="ward")
    assert ds.group_column == "ward"
