"""Cross-validation on the fit rows: how candidates are compared without touching held-out rows.

Few rows get leave-one-out; more rows get repeated k-fold (CAAFE keeps a feature only when
RepeatedKFold improves, the same idea). Every hyperparameter a candidate chooses (penalty, prior
scale, a shape constant) is chosen again inside each training fold, so a candidate's score is not
flattered by choices made on the rows it is scored on.

The score is Spearman rho between the out-of-fold predictions and the target, pooled over the
folds of one repeat and averaged over repeats.

Rows that repeat one attribute vector (wine has 787 such rows among 5198) stay in one fold
(``groups``): otherwise a candidate that memorises is scored on copies of its own training rows.
So do one subject's rows in panel data (``fold_groups``), for the same reason: the held-out cut
keeps a subject on one side, and a fold that did not would flatter what fits subjects, not
attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .rank import spearman

#: Up to this many rows, leave-one-out; above it, ``REPEATS`` x ``FOLDS``-fold.
LOO_MAX_ROWS = 40
FOLDS = 5
REPEATS = 3


@dataclass(frozen=True)
class CVScore:
    rho: float       # mean over repeats of the pooled out-of-fold Spearman rho
    spread: float    # standard deviation over repeats (0 for leave-one-out)
    scheme: str      # "leave-one-out (20 rows)" or "3 x 5-fold (800 rows)"


def folds(n: int, seed: int = 0, groups=None) -> list[list[np.ndarray]]:
    """Test-row indices grouped by repeat: leave-one-out for few rows, else repeated k-fold.

    With ``groups`` (a label per row), rows sharing a label are left out together: leave one
    group out, or k-fold over groups. Fewer than 3 groups cannot be cross-validated that way, so
    the rows are then split one by one.
    """
    if n < 3:
        raise ValueError("cross-validation needs at least 3 rows")
    members = _group_members(groups) if groups is not None else []
    if len(members) < 3:
        members = [np.array([i]) for i in range(n)]
    if n <= LOO_MAX_ROWS:
        return [members]
    rng = np.random.default_rng(seed)
    return [[np.sort(np.concatenate([members[i] for i in part]))
             for part in np.array_split(rng.permutation(len(members)), FOLDS) if len(part)]
            for _ in range(REPEATS)]


def duplicate_groups(X) -> np.ndarray | None:
    """A label per row, equal for rows with the same attribute vector; None when no row repeats."""
    X = np.asarray(X, dtype=np.float64)
    if len(X) == 0:
        return None
    _, labels = np.unique(X, axis=0, return_inverse=True)
    labels = labels.ravel()
    return labels if labels.max() + 1 < len(X) else None


def fold_groups(X, subjects=None) -> np.ndarray | None:
    """A label per row for rows that must share a fold: rows with the same attribute vector
    (``duplicate_groups``) or the same subject, joined (a subject's rows and every copy of
    them). None when no two rows belong together."""
    duplicates = duplicate_groups(X)
    parts = [labels for labels in (duplicates, subjects) if labels is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return _labels(parts[0])
    return _joined(len(X), parts)


def _labels(values) -> np.ndarray | None:
    labels = np.unique(np.asarray(values), return_inverse=True)[1].ravel()
    return labels if len(labels) and labels.max() + 1 < len(labels) else None


def _joined(n: int, parts) -> np.ndarray | None:
    """Connected rows: two rows share a label when a chain of shared labels links them."""
    heads, tails = [], []
    for labels in parts:
        labels = np.asarray(labels)
        order = np.argsort(labels, kind="stable")
        same = labels[order][:-1] == labels[order][1:]  # neighbours in label order
        heads.append(order[:-1][same])
        tails.append(order[1:][same])
    heads, tails = np.concatenate(heads), np.concatenate(tails)
    links = coo_matrix((np.ones(len(heads)), (heads, tails)), shape=(n, n))
    return _labels(connected_components(links, directed=False)[1])


def _group_members(groups) -> list[np.ndarray]:
    """Row indices per group, in order of each group's first row."""
    _, first, labels = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    labels = labels.ravel()
    order = np.argsort(labels, kind="stable")
    bounds = np.cumsum(np.bincount(labels))[:-1]
    members = np.split(order, bounds)
    return [members[i] for i in np.argsort(first, kind="stable")]


def scheme_name(n: int, groups=None) -> str:
    grouped = groups is not None and len(np.unique(groups)) >= 3
    if n <= LOO_MAX_ROWS:
        return f"{'leave-one-group-out' if grouped else 'leave-one-out'} ({n} rows)"
    return f"{REPEATS} x {FOLDS}-fold{' over groups of rows' if grouped else ''} ({n} rows)"


def cross_validate(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], y,
                   seed: int = 0, groups=None) -> CVScore:
    """Score ``fit_predict(train_index, test_index) -> predictions for the test rows``.

    ``groups``: rows that must share a fold (see ``folds``).

    A fold whose fit fails or returns non-finite values makes the candidate score -1.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    everything = np.arange(n)
    rhos = []
    for repeat in folds(n, seed, groups):
        predicted = np.empty(n)
        for test in repeat:
            train = np.setdiff1d(everything, test, assume_unique=True)
            predicted[test] = fit_predict(train, test)
        rhos.append(spearman(predicted, y))
    return CVScore(float(np.mean(rhos)), float(np.std(rhos)), scheme_name(n, groups))
