"""Which predictor GEPA rewrites next: only those the program calls.

GEPA's default cycles through every named predictor. A program with ``rounds=0`` calls only
``elicit``; the analysis and the writer leave no trace, so GEPA's turns on them end in "No valid
predictions found for any module" and spend an iteration for nothing (three of five in a
9.5-minute compile on the embedded model). This selector cycles through the predictors the
program names as active (``active_predictors()``), in the same round-robin order per candidate.
"""

from __future__ import annotations


class ActivePredictorSelector:
    """A GEPA ``component_selector``: round robin over ``names`` for each candidate program."""

    def __init__(self, names):
        self.names = list(names)  # compile() refuses a program that calls no predictor
        self._next: dict[int, int] = {}

    def __call__(self, state, trajectories, subsample_scores, candidate_idx, candidate):
        turn = self._next.get(candidate_idx, 0)
        self._next[candidate_idx] = turn + 1
        return [self.names[turn % len(self.names)]]


def active_predictors(program) -> list[str]:
    """The predictors ``program`` calls (its own ``active_predictors()``, else all of them), in
    the order of ``named_predictors()``, the order GEPA's own round robin takes."""
    names = [name for name, _ in program.named_predictors()]
    chosen = getattr(program, "active_predictors", None)
    return [n for n in names if n in set(chosen())] if chosen else names
