"""Statistics behind the learned function: the elicited prior, a ridge fit shrunk toward it,
cross-validation on the fit rows, readable non-linear terms selected when rows are many, and
reading a written function as linear in its PARAMS.

Nothing here calls a language model or imports dspy.
"""

from .cv import CVScore, cross_validate, duplicate_groups, fold_groups, folds, scheme_name
from .linear_form import LinearForm, find_linear_form
from .prior import AttributePrior, Prior, PriorError
from .render import linear_function, terms_function
from .ridge import PENALTY_GRID, LinearFit, fit_linear, standardize
from .terms import Front, Term, fit_terms, select_terms, term_front, term_matrix

__all__ = [
    "PENALTY_GRID", "AttributePrior", "CVScore", "Front", "LinearFit", "LinearForm", "Prior",
    "PriorError", "Term", "cross_validate", "duplicate_groups", "find_linear_form", "fit_linear",
    "fit_terms", "fold_groups", "folds", "linear_function", "scheme_name", "select_terms",
    "standardize", "term_front", "term_matrix", "terms_function",
]
