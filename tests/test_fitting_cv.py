"""Cross-validation on the fit rows: duplicates share a fold, and pooled out-of-fold predictions
stay comparable across folds even when an attribute sits far from zero."""

import numpy as np
import pytest

from rewardsmith.fitting import cross_validate, duplicate_groups, fit_linear, fold_groups, folds


def test_rows_with_the_same_attributes_share_a_fold():
    X = np.repeat(np.arange(30.0)[:, None], 3, axis=0)  # every row three times: 90 rows
    groups = duplicate_groups(X)
    for repeat in folds(len(X), seed=0, groups=groups):
        assert sorted(np.concatenate(repeat)) == list(range(len(X)))
        for test in repeat:
            assert set(groups[test]).isdisjoint(set(np.delete(groups, test)))


def test_few_rows_with_duplicates_leave_one_group_out():
    X = np.array([[1.0], [1.0], [2.0], [3.0], [3.0]])
    (repeat,) = folds(len(X), groups=duplicate_groups(X))
    assert [list(t) for t in repeat] == [[0, 1], [2], [3, 4]]


def test_no_repeated_row_means_no_groups():
    assert duplicate_groups(np.eye(4)) is None


def test_fewer_than_three_groups_fall_back_to_single_rows():
    X = np.array([[1.0]] * 5 + [[2.0]] * 5)
    (repeat,) = folds(len(X), groups=duplicate_groups(X))
    assert len(repeat) == 10


def test_a_subject_and_the_copies_of_its_rows_share_one_fold_group():
    X = np.array([[1.0], [2.0], [2.0], [3.0], [4.0], [5.0]])  # rows 1 and 2 are copies
    subjects = np.array([0, 0, 1, 2, 3, 3])  # row 0 and 1 one subject; row 2 another
    labels = fold_groups(X, subjects)
    assert labels[0] == labels[1] == labels[2]  # joined through row 1's copy
    assert len({labels[0], labels[3], labels[4]}) == 3 and labels[4] == labels[5]


def test_fold_groups_are_the_subjects_or_the_duplicates_alone():
    X = np.arange(6.0)[:, None]
    assert fold_groups(X) is None and fold_groups(X, np.arange(6)) is None
    assert list(fold_groups(X, [5, 5, 7, 7, 9, 9])) == [0, 0, 1, 1, 2, 2]
    assert list(fold_groups(np.repeat(X[:3], 2, axis=0))) == [0, 0, 1, 1, 2, 2]


def test_a_memoriser_is_not_flattered_by_duplicates():
    """A nearest-row lookup on a table where every row appears twice with the same random target
    (nothing to learn): split row by row it looks good, split by groups it is seen for what it
    is."""
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(60, 2)), 2, axis=0)
    y = np.repeat(rng.normal(size=60), 2)

    def lookup(train, test):
        distance = ((X[test][:, None, :] - X[train][None, :, :]) ** 2).sum(-1)
        return y[train][distance.argmin(axis=1)]

    # Split row by row, a test row's copy is in training four times in five.
    assert cross_validate(lookup, y, seed=0).rho > 0.6
    honest = cross_validate(lookup, y, seed=0, groups=duplicate_groups(X))
    assert abs(honest.rho) < 0.4
    assert "groups" in honest.scheme


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_pooled_cv_is_not_noise_when_an_attribute_sits_far_from_zero(offset):
    """Each fold's linear part ``X @ coef`` is offset by ``coef @ mean(X)``; with a column near
    1000 that offset moves between folds by more than the rows differ and the pooled rho was
    noise (wine's density: CV rho 0.15 for a ridge that ranks held-out rows at 0.54)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)) * [0.01, 1.0] + [offset, 0.0]
    y = (x[:, 0] - offset) * 100 + x[:, 1] + rng.normal(size=200)

    def ridge(train, test):
        return fit_linear(x[train], y[train], mode="ridge").rank_score(x[test])

    assert cross_validate(ridge, y, seed=0).rho > 0.7


def test_rank_score_is_the_prediction_less_the_mean_target():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 3)) + 50, rng.normal(size=30) + 7
    fit = fit_linear(X, y, mode="ridge")
    np.testing.assert_allclose(fit.rank_score(X), fit.predict(X) - y.mean())
