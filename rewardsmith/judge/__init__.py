"""Judging candidate functions for one task: fit, cross-validate, compare, explain.

No language model and no dspy here; the programs call it.
"""

from .candidates import Candidate, statistical_candidates
from .judge import CV_MAX_ROWS, Attempt, Judge, unknown_key_hint
from .written import WrittenFit, fit_written

__all__ = ["CV_MAX_ROWS", "Attempt", "Candidate", "Judge", "WrittenFit", "fit_written",
           "statistical_candidates", "unknown_key_hint"]
