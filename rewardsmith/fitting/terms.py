"""Selected terms: a short sum of readable non-linear terms, chosen by the rows when they are many.

With thousands of rows a linear function leaves signal on the table (wine: hinges in alcohol and
volatile acidity, products of sulphur and sulphates), and the writer rarely finds it. This module
offers the same kind of terms a writer is asked for, builds every one of them per attribute, and
keeps the few that cross-validation on the fit rows supports:

- ``x``: the attribute itself;
- ``max(x - c, 0)`` and ``min(x - c, 0)``: hinges at the attribute's quantiles (a slope that
  starts or stops at ``c``: saturation and thresholds);
- ``log1p(max(x, 0))``: a diminishing return, for attributes that are never negative;
- ``x * y``: a product of two attributes (an interaction).

Terms are added greedily (as MARS and forward stepwise regression do), each time the one that
most raises the pooled k-fold Spearman rho of a least-squares fit, up to ``max_terms`` or until
no term raises it by ``min_improvement``. Rho, not squared error, because ranking is the goal: on
wine, selection by squared error held out 0.555 against 0.575. The whole search works on Gram
matrices, so each step solves one small system per candidate and fold. The coefficients of the
chosen terms are then fitted by ``fit_linear``; the caller cross-validates the whole procedure
(selection included) to score it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from .render import attr_key, shifted
from .ridge import LinearFit, fit_linear, standardize

#: Quantiles of an attribute where hinges may bend.
KNOT_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: Fewer fit rows than this and no terms are selected (a 200-column search overfits few rows).
MIN_ROWS = 100
MAX_TERMS = 15
#: A term joins only if it raises the cross-validated Spearman rho by this much.
MIN_IMPROVEMENT = 1e-3
#: Ridge penalty of the search, per row, on standardized terms: only keeps near-collinear
#: candidates (a hinge beside its own attribute) solvable.
SEARCH_PENALTY = 1e-3
SEARCH_FOLDS = 5
#: Products are offered between at most this many columns (those ranked closest to the target,
#: 120 pairs): every pair of a wide table (a house-price table with 200 text levels) would be
#: 20,000 terms and a Gram matrix of 3 GB.
MAX_PRODUCT_COLUMNS = 16


@dataclass(frozen=True)
class Term:
    """One readable term of attribute positions ``a`` (and ``b`` for a product)."""

    kind: str            # "linear", "above", "below", "log" or "product"
    a: int
    b: int = -1
    knot: float = 0.0

    def values(self, X: np.ndarray) -> np.ndarray:
        x = X[:, self.a]
        if self.kind == "linear":
            return x
        if self.kind == "above":
            return np.maximum(x - self.knot, 0.0)
        if self.kind == "below":
            return np.minimum(x - self.knot, 0.0)
        if self.kind == "log":
            return np.log1p(np.maximum(x, 0.0))
        return x * X[:, self.b]

    def source(self, attributes) -> str:
        x = attr_key(attributes[self.a])
        if self.kind == "linear":
            return x
        if self.kind == "above":
            return f"max({shifted(x, self.knot)}, 0.0)"
        if self.kind == "below":
            return f"min({shifted(x, self.knot)}, 0.0)"
        if self.kind == "log":
            return f"math.log1p(max({x}, 0.0))"
        return f"{x} * {attr_key(attributes[self.b])}"


def term_library(X: np.ndarray, y=None) -> list[Term]:
    """Every candidate term for the columns of ``X`` (knots from these rows' quantiles).
    Products pair up at most ``MAX_PRODUCT_COLUMNS`` columns: with ``y``, those with the
    largest rank correlation with it (ties: the first), else the first ones."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    varying = [j for j in range(p) if np.ptp(X[:, j]) > 0]
    terms = [Term("linear", j) for j in varying]
    for j in varying:
        knots = sorted({float(f"{k:.3g}") for k in np.quantile(X[:, j], KNOT_QUANTILES)})
        for knot in knots:
            for kind in ("above", "below"):
                term = Term(kind, j, knot=knot)
                if np.ptp(term.values(X)) > 0:
                    terms.append(term)
        if X[:, j].min() >= 0:
            terms.append(Term("log", j))
    paired = varying
    if len(varying) > MAX_PRODUCT_COLUMNS:
        if y is not None:
            strength = np.abs(_centred_ranks(X[:, varying].T) @ _centred_ranks(np.asarray(y)))
            order = np.argsort(-strength, kind="stable")[:MAX_PRODUCT_COLUMNS]
            paired = sorted(varying[i] for i in order)
        else:
            paired = varying[:MAX_PRODUCT_COLUMNS]
    terms += [Term("product", a, b) for a, b in itertools.combinations(paired, 2)]
    return terms


def term_matrix(terms, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([t.values(X) for t in terms]) if terms else np.empty((len(X), 0))


def select_terms(X, y, *, max_terms: int = MAX_TERMS, min_improvement: float = MIN_IMPROVEMENT,
                 groups=None, seed: int = 0) -> list[Term]:
    """Greedy forward selection from ``term_library(X)`` by k-fold Spearman rho.

    ``groups`` keeps rows with the same group (duplicate attribute vectors) in the same fold, so
    a term that only memorises duplicates is not rewarded.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    library = term_library(X, y)
    if not library:
        return []
    Z, _, _ = standardize(term_matrix(library, X))
    Z = np.column_stack([np.ones(len(y)), Z])   # column 0: the intercept, never penalised
    folds = [_fold(Z, y, test) for test in _search_folds(len(y), groups, seed)]
    y_ranks = _centred_ranks(y)
    chosen, rho = [0], 0.0
    while len(chosen) - 1 < max_terms:
        pool = np.array([c for c in range(1, Z.shape[1]) if c not in chosen])
        if pool.size == 0:
            break
        rhos = _cv_rhos(Z, folds, chosen, pool, y_ranks)
        best = int(np.argmax(rhos))
        if not rhos[best] > rho + min_improvement:
            break
        chosen.append(int(pool[best]))
        rho = float(rhos[best])
    return [library[c - 1] for c in chosen[1:]]


def fit_terms(X, y, terms) -> LinearFit:
    """Ridge on the chosen terms, penalty by leave-one-out (``fit_linear``)."""
    return fit_linear(term_matrix(terms, X), y, mode="ridge")


def _search_folds(n: int, groups, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if groups is None:
        return np.array_split(rng.permutation(n), SEARCH_FOLDS)
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    parts = np.array_split(rng.permutation(inverse.max() + 1), SEARCH_FOLDS)
    return [np.flatnonzero(np.isin(inverse, part)) for part in parts]


def _fold(Z, y, test):
    train = np.ones(len(y), dtype=bool)
    train[test] = False
    Zt = Z[train]
    return test, Zt.T @ Zt, Zt.T @ y[train], int(train.sum()), float(y[train].mean())


def _centred_ranks(values) -> np.ndarray:
    """Average ranks along the last axis, centred and scaled to unit norm (so rho is a dot
    product)."""
    ranks = rankdata(values, axis=-1)
    ranks = ranks - ranks.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(ranks, axis=-1, keepdims=True)
    return ranks / np.where(norm > 0, norm, 1.0)


def _cv_rhos(Z, folds, chosen, pool, y_ranks) -> np.ndarray:
    """Pooled out-of-fold Spearman rho of ``chosen + [c]`` for every ``c`` in ``pool``.

    The predictions leave out each fold's mean target (see ``LinearFit.rank_score``).
    """
    k = len(chosen) + 1
    index = np.empty((len(pool), k), dtype=int)
    index[:, :-1] = chosen
    index[:, -1] = pool
    predicted = np.empty((len(pool), Z.shape[0]))
    for test, G, b, n_train, y_mean in folds:
        A = G[index[:, :, None], index[:, None, :]]                  # (m, k, k)
        ridge = np.full(k, SEARCH_PENALTY * n_train)
        ridge[0] = 0.0
        A = A + np.eye(k)[None] * ridge[None, :, None]
        w = np.linalg.solve(A, b[index][:, :, None])[:, :, 0]       # (m, k)
        predicted[:, test] = (np.einsum("nmk,mk->mn", Z[test][:, index], w)
                              - y_mean)
    return _centred_ranks(predicted) @ y_ranks
