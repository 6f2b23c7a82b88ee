"""Candidates: functions competing to be the answer for one task, each with its CV score.

Three statistical candidates are always there, fitted on the attributes themselves:

- ``prior``: the elicited prior alone (direction x importance per standardized attribute);
- ``ridge``: plain ridge, penalty by leave-one-out (the baseline to beat);
- ``shrunk ridge``: ridge shrunk toward the prior, penalty and the prior's scale by leave-one-out.

With at least ``terms.MIN_ROWS`` fit rows a fourth joins them, ``selected terms``: a short sum of
hinges, logs and products of attributes chosen by forward selection (``fitting/terms.py``), as
many as the one-standard-error rule takes from the front of sizes. Like a written function it is
a challenger: it wins only when its CV score beats the statistical answer's. Its CV score repeats
the selection, the rule included, inside every training fold.

The written functions join them (``written.py``). Each is rendered as readable code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fitting import (
    CVScore,
    cross_validate,
    fit_linear,
    fit_terms,
    fold_groups,
    linear_function,
    term_front,
    term_matrix,
)
from ..fitting.terms import MAX_FRONT_TERMS, MIN_ROWS, Front
from ..sandbox import ScoringFunction

#: Statistical candidates, by the fitting mode that makes them.
STATISTICAL = {"prior": "prior", "ridge": "ridge", "shrunk ridge": "shrunk"}


@dataclass
class Candidate:
    """One competitor: a function fitted on all fit rows and its cross-validated rho."""

    name: str
    function: ScoringFunction | None
    cv: CVScore | None
    detail: str = ""          # how its numbers were fitted, in words
    written: bool = False     # written by the language model (else statistical)
    challenger: bool = False  # wins only by beating the statistical answer (written or terms)
    front: Front | None = None  # selected terms: every size the selection went through

    @property
    def cv_rho(self) -> float:
        return self.cv.rho if self.cv is not None else -1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "cv_rho": round(self.cv_rho, 4), "detail": self.detail,
                "written": self.written}


def statistical_candidates(rows, cv_rows, prior_vector: np.ndarray, seed: int = 0,
                           groups=None) -> list[Candidate]:
    """The prior alone, ridge and shrunk ridge on ``rows``' attributes, scored on ``cv_rows``
    (``groups``: its rows that must share a fold)."""
    modes = ["ridge"] + (["prior", "shrunk"] if np.any(prior_vector) else [])
    found = []
    for name, mode in STATISTICAL.items():
        if mode not in modes:
            continue
        cv = cross_validate(_fit_predict(cv_rows.X, cv_rows.y, prior_vector, mode),
                            cv_rows.y, seed, groups)
        fit = fit_linear(rows.X, rows.y, prior_vector, mode=mode)
        doc = describe(name, fit, len(rows))
        function = linear_function(name.replace(" ", "_"), doc, fit.intercept, fit.coef,
                                   rows.attributes)
        found.append(Candidate(name, function, cv, _detail(mode, fit)))
    return found


def alternative_candidate(label: str, rows, cv_rows, prior_vector: np.ndarray, seed: int = 0,
                          groups=None) -> Candidate | None:
    """Ridge shrunk toward another prior (the retrieved one), named ``shrunk ridge (label)``: a
    rival that replaces the statistical answer only by beating its CV score by the margin."""
    if not np.any(prior_vector):
        return None
    cv = cross_validate(_fit_predict(cv_rows.X, cv_rows.y, prior_vector, "shrunk"), cv_rows.y,
                        seed, groups)
    fit = fit_linear(rows.X, rows.y, prior_vector, mode="shrunk")
    doc = describe("shrunk ridge", fit, len(rows)).replace("the elicited prior",
                                                           f"the {label} prior")
    function = linear_function(f"shrunk_ridge_{label}", doc, fit.intercept, fit.coef,
                               rows.attributes)
    return Candidate(f"shrunk ridge ({label})", function, cv, _detail("shrunk", fit))


def terms_candidate(rows, cv_rows, seed: int = 0, groups=None,
                    max_terms: int | None = None) -> Candidate | None:
    """Selected terms (see the module docstring), at most ``max_terms``; None under ``MIN_ROWS``
    fit rows or when the selection keeps no term."""
    if len(rows) < MIN_ROWS:
        return None
    cap = MAX_FRONT_TERMS if max_terms is None else max_terms
    X, y = cv_rows.X, cv_rows.y

    def fit_predict(train, test):
        inner = None if groups is None else groups[train]
        terms = term_front(X[train], y[train], max_terms=cap, groups=inner, seed=seed).chosen()
        if not terms:
            return np.zeros(len(test))
        return fit_terms(X[train], y[train], terms).rank_score(term_matrix(terms, X[test]))

    cv = cross_validate(fit_predict, y, seed, groups)
    front = term_front(rows.X, rows.y, max_terms=cap, groups=fold_groups(rows.X, rows.groups),
                       seed=seed, attributes=rows.attributes)
    if not front.terms:
        return None
    function = front.function()
    return Candidate("selected terms", function, cv,
                     f"{front.size()} of {len(front.terms)} terms (one-standard-error rule)",
                     challenger=True, front=front)


def _fit_predict(X, y, prior_vector, mode):
    def fit_predict(train, test):
        return fit_linear(X[train], y[train], prior_vector, mode=mode).rank_score(X[test])
    return fit_predict


def _detail(mode: str, fit) -> str:
    if mode == "prior":
        return "the prior's weights alone, nothing fitted but a scale"
    if mode == "ridge":
        return f"ridge penalty {fit.penalty:.3g}"
    return f"ridge penalty {fit.penalty:.3g}, prior trusted at scale {fit.prior_scale:.3g}"


def describe(name: str, fit, n: int) -> str:
    """The docstring of a rendered statistical candidate."""
    if name == "prior":
        return (f"The elicited prior alone: direction x importance per standardized attribute "
                f"(scaled on {n} fit rows; nothing else fitted).")
    if name == "ridge":
        return (f"Ridge regression on {n} fit rows, standardized attributes, penalty "
                f"{fit.penalty:.4g} chosen by leave-one-out cross-validation.")
    return (f"Ridge on {n} fit rows shrunk toward the elicited prior: penalty {fit.penalty:.4g} "
            f"and prior scale {fit.prior_scale:.4g} chosen by leave-one-out cross-validation.")
