"""The one result shape of every program's ``forward``: the same fields, filled by one function,
so the metric, ``run_program``, the bench and the optimizers read any program alike."""

from __future__ import annotations

import dspy

from ..lm.usage import usage_totals

#: The fields of a program's prediction, in order.
PREDICTION_FIELDS = ("function", "code", "analysis", "prior", "attempts", "candidates", "chosen",
                     "standings", "front", "lm_calls", "tokens", "lm_failed", "lm_note")


def program_prediction(judge, candidate, *, analysis: str, prior, attempts: list,
                       usage, record=None) -> dspy.Prediction:
    """The prediction for the chosen ``candidate`` (None: nothing usable) of a judged task.

    ``usage`` is the tracker from ``dspy.utils.usage_tracker.track_usage`` around the LM calls,
    ``record`` the run's ``lm.health.CallRecord`` (how many calls failed).
    """
    function = candidate.function if candidate is not None else None
    calls, tokens = usage_totals(usage)
    return dspy.Prediction(
        function=function,
        code=function.source if function is not None else None,
        analysis=analysis,
        prior=prior,
        attempts=attempts,
        candidates=[c.to_dict() for c in judge.candidates],
        chosen=candidate.name if candidate is not None else None,
        standings=judge.standings(),
        front=judge.front,
        lm_calls=calls,
        tokens=tokens,
        lm_failed=record.failed if record is not None else 0,
        lm_note=record.note() if record is not None else "",
    )
