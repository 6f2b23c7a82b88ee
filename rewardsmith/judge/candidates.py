"""Candidates: functions competing to be the answer for one task, each with its CV score.

Three statistical candidates are always there, fitted on the attributes themselves:

- ``prior``: the elicited prior alone (direction x importance per standardized attribute);
- ``ridge``: plain ridge, penalty by leave-one-out (the baseline to beat);
- ``shrunk ridge``: ridge shrunk toward the prior, penalty and the prior's scale by leave-one-out.

With at least ``terms.MIN_ROWS`` fit rows a fourth joins them, ``selected terms``: a short sum of
hinges, logs and products of attributes chosen by forward selection (``fitting/terms.py``). Like
a written function it is a challenger: it wins only when its CV score beats the statistical
answer's. Its CV score repeats the selection inside every training fold.

The written functions join them (``written.py``). Each is rendered as readable code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fitting import (
    CVScore,
    cross_validate,
    duplicate_groups,
    fit_linear,
    fit_terms,
    linear_function,
    select_terms,
    term_matrix,
    terms_function,
)
from ..fitting.terms import MAX_TERMS, MIN_ROWS
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


def terms_candidate(rows, cv_rows, seed: int = 0, groups=None) -> Candidate | None:
    """Selected terms (see the module docstring); None under ``MIN_ROWS`` fit rows or when the
    selection keeps no term."""
    if len(rows) < MIN_ROWS:
        return None
    X, y = cv_rows.X, cv_rows.y

    def fit_predict(train, test):
        inner = None if groups is None else groups[train]
        terms = select_terms(X[train], y[train], groups=inner, seed=seed)
        if not terms:
            return np.zeros(len(test))
        return fit_terms(X[train], y[train], terms).rank_score(term_matrix(terms, X[test]))

    cv = cross_validate(fit_predict, y, seed, groups)
    all_groups = duplicate_groups(rows.X)
    terms = select_terms(rows.X, rows.y, groups=all_groups, seed=seed)
    if not terms:
        return None
    fit = fit_terms(rows.X, rows.y, terms)
    doc = (f"{len(terms)} terms chosen from hinges, logs and products of the attributes by "
           f"forward selection on {len(rows)} fit rows (at most {MAX_TERMS}); ridge penalty "
           f"{fit.penalty:.4g} by leave-one-out.")
    function = terms_function("selected_terms", doc, fit.intercept, fit.coef, terms,
                              rows.attributes)
    return Candidate("selected terms", function, cv,
                     f"{len(terms)} terms by forward selection, ridge penalty {fit.penalty:.3g}",
                     challenger=True)


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
