"""Statistics behind the learned function: the elicited prior, a ridge fit shrunk toward it,
cross-validation on the fit rows, and reading a written function as linear in its PARAMS.

Nothing here calls a language model or imports dspy.
"""

from .cv import CVScore, cross_validate, folds, scheme_name
from .linear_form import LinearForm, find_linear_form
from .prior import AttributePrior, Prior, PriorError
from .render import linear_function
from .ridge import PENALTY_GRID, LinearFit, fit_linear, standardize

__all__ = [
    "PENALTY_GRID", "AttributePrior", "CVScore", "LinearFit", "LinearForm", "Prior", "PriorError",
    "cross_validate", "find_linear_form", "fit_linear", "folds", "linear_function",
    "scheme_name", "standardize",
]
