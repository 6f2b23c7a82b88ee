"""The benchmark's methods: each turns one task's fit rows into a function and its held-out rho.

Every method sees the fit rows only; the held-out rows are used once, after the function is fixed,
to score it. ``RUNNERS`` maps a method name to ``runner(task, program) -> dict`` (the measured
fields of a cell record); it is a plain dict so tests can wrap a runner. The heavy imports sit
inside the runners: the CLI reads the method names here when it only builds its help.
"""

from __future__ import annotations

import math

LM_METHODS = ("compiled", "uncompiled", "seed", "prior")
LINEAR_METHODS = ("signed_mean", "ols", "ridge")
METHODS = (*LM_METHODS, *LINEAR_METHODS, "gbm", "ebm")
DEFAULT_METHODS = (*LM_METHODS, *LINEAR_METHODS)
#: Raised when a method's code changes what it asks the LM, so a resumed benchmark recomputes that
#: method's cells instead of mixing old and new ones. Revision 1 is not written into a cell, so
#: cells from before revisions existed still match. seed 2: each sample is drawn with its own seed.
#: 2 (compiled, uncompiled) and 3 (seed): the elicited prior, closed-form fits and selection by
#: cross-validation (issue 13). prior 2: the statistical answer is the shrunk ridge.
REVISIONS = {"compiled": 2, "uncompiled": 2, "seed": 3, "prior": 2}


def run_program(task, program) -> dict:
    """A DSPy program writes the function; LM calls and tokens are counted around the call."""
    from dspy.utils.usage_tracker import track_usage

    from ..lm.usage import usage_totals
    from ..metrics import FAILURE_SCORE, evaluate_function

    with track_usage() as usage:  # nested trackers roll up, so the program's own one is counted
        prediction = program(**task.inputs())
    function = prediction.function
    calls, tokens = usage_totals(usage)
    return {
        "rho": evaluate_function(function, task.heldout_rows).rho if function else FAILURE_SCORE,
        "complexity": function.complexity if function else None,
        "lm_calls": calls,
        "tokens": tokens,
        "source": function.source if function else None,
        "analysis": prediction.analysis or "",
        "attempts": [a.to_dict() for a in prediction.attempts],
        **_choice_fields(prediction, task),
        "note": "" if function else "no attempt produced a valid function (scored -1)",
    }


def _choice_fields(prediction, task) -> dict:
    """Which candidate won, the candidates' CV scores, and the prior with its agreement with the
    fit rows' directions (what the benchmark reports per cell)."""
    prior = getattr(prediction, "prior", None)
    fields = {"chosen": getattr(prediction, "chosen", None),
              "candidates": getattr(prediction, "candidates", [])}
    if prior is not None:
        agree, stated = prior.agreement(task.fit_rows)
        fields.update(prior=prior.to_dict(), prior_agreement=[agree, stated])
    return fields


def run_linear(name: str):
    """A runner for one of the linear baselines, scored exactly as ``run_baselines`` scores it."""

    def runner(task, program=None) -> dict:
        from ..metrics import run_baselines

        result = run_baselines(task.fit_rows, task.heldout_rows, names=(name,))[0]
        return {"rho": result.rho, "complexity": result.function.complexity,
                "source": result.function.source}

    return runner


def run_gbm(task, program=None) -> dict:
    """Gradient boosting as a black-box reference: a rho, no readable source."""
    from ..metrics import FAILURE_SCORE, gradient_boosting_rho

    rho = gradient_boosting_rho(task.fit_rows, task.heldout_rows, seed=task.seed)
    return {"rho": rho if math.isfinite(rho) else FAILURE_SCORE, "source": None}


def run_ebm(task, program=None) -> dict:
    """An explainable boosting machine as an additive reference: a rho, no readable source."""
    from ..metrics import FAILURE_SCORE, ebm_rho

    rho = ebm_rho(task.fit_rows, task.heldout_rows, seed=task.seed)
    return {"rho": rho if math.isfinite(rho) else FAILURE_SCORE, "source": None}


def sklearn_available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def interpret_available() -> bool:
    try:
        import interpret.glassbox  # noqa: F401
    except ImportError:
        return False
    return True


RUNNERS = {
    "compiled": run_program,
    "uncompiled": run_program,
    "seed": run_program,
    "prior": run_program,
    **{name: run_linear(name) for name in LINEAR_METHODS},
    "gbm": run_gbm,
    "ebm": run_ebm,
}
