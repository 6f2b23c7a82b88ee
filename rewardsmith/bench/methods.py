"""The benchmark's methods: each turns one task's fit rows into a function and its held-out rho.

Every method sees the fit rows only; the held-out rows are used once, after the function is fixed,
to score it. ``RUNNERS`` maps a method name to ``runner(task, program) -> dict``: the measured
fields of a cell record, with ``predictions`` for the held-out rows (None when the method produced
no function), from which the runner of the cells computes every held-out score the same way. It
is a plain dict so tests can wrap a runner. The heavy imports sit
inside the runners: the CLI reads the method names here when it only builds its help.
"""

from __future__ import annotations

from types import SimpleNamespace

LM_METHODS = ("compiled", "uncompiled", "seed", "prior")
LINEAR_METHODS = ("signed_mean", "ols", "ridge")
#: No LM: the prior is the vote of the train tables' nearest labelled attributes
#: (``corpus/library.py``), then the judge's statistical candidates as for ``prior``.
RETRIEVED = "retrieved"
METHODS = (*LM_METHODS, RETRIEVED, *LINEAR_METHODS, "gbm", "ebm")
DEFAULT_METHODS = (*LM_METHODS, *LINEAR_METHODS)
#: Raised when a method's code changes what it asks the LM, so a resumed benchmark recomputes that
#: method's cells instead of mixing old and new ones. Revision 1 is not written into a cell, so
#: cells from before revisions existed still match. seed 2: each sample is drawn with its own seed.
#: 2 (compiled, uncompiled) and 3 (seed): the elicited prior, closed-form fits and selection by
#: cross-validation (issue 13). prior 2: the statistical answer is the shrunk ridge. 3 (compiled,
#: uncompiled, prior): pooled cross-validation centres each fold's predictions (it was noise where
#: an attribute sits far from zero), duplicates share a fold, and selected terms compete.
#: 4 (compiled, uncompiled, prior): the prior step reads the card's words without fit-row ranges,
#: and a program compiled by retrieval shows it worked examples (issue 22).
REVISIONS = {"compiled": 4, "uncompiled": 4, "seed": 3, "prior": 4}


def run_program(task, program) -> dict:
    """A DSPy program writes the function; LM calls and tokens are counted around the call."""
    from dspy.utils.usage_tracker import track_usage

    from ..lm.usage import usage_totals

    with track_usage() as usage:  # nested trackers roll up, so the program's own one is counted
        prediction = program(**task.inputs())
    if getattr(prediction, "lm_failed", 0):
        # Not a measurement of the method: the cell is an error, shown, and run again next time.
        raise RuntimeError(f"{prediction.lm_note}; the cell is run again on the next bench")
    function = prediction.function
    calls, tokens = usage_totals(usage)
    return {
        "predictions": _predictions(function, task),
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


def run_retrieved(task, program=None) -> dict:
    """The prior voted by similar attributes of the corpus's train tables, judged like the
    elicited one: no LM call. A train table never votes for itself."""
    from ..corpus.library import default_library
    from ..judge import Judge

    card = getattr(task, "card", None) or {}
    prior = default_library().vote(card, exclude_table=task.dataset)
    judge = Judge(task.fit_rows, prior, seed=task.seed)
    winner = judge.winner()
    prediction = SimpleNamespace(prior=prior, chosen=winner.name,
                                 candidates=[c.to_dict() for c in judge.candidates])
    function = winner.function
    return {"predictions": _predictions(function, task),
            "complexity": function.complexity if function else None,
            "source": function.source if function else None,
            **_choice_fields(prediction, task)}


def run_linear(name: str):
    """A runner for one of the linear baselines, scored exactly as ``run_baselines`` scores it."""

    def runner(task, program=None) -> dict:
        from ..metrics import BASELINES

        function = BASELINES[name](task.fit_rows)
        return {"predictions": _predictions(function, task), "complexity": function.complexity,
                "source": function.source}

    return runner


def run_gbm(task, program=None) -> dict:
    """Gradient boosting as a black-box reference: predictions, no readable source."""
    from ..metrics import gradient_boosting_predictions

    return {"predictions": gradient_boosting_predictions(task.fit_rows, task.heldout_rows.X,
                                                         seed=task.seed), "source": None}


def run_ebm(task, program=None) -> dict:
    """An explainable boosting machine as an additive reference: predictions, no source."""
    from ..metrics import ebm_predictions

    if len(task.fit_rows) < 2:  # one row ranks nothing
        return {"predictions": None, "source": None}
    return {"predictions": ebm_predictions(task.fit_rows, task.heldout_rows.X, seed=task.seed),
            "source": None}


def _predictions(function, task):
    from ..metrics.spearman import usable_outputs

    return usable_outputs(function, task.heldout_rows)


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
    RETRIEVED: run_retrieved,
    **{name: run_linear(name) for name in LINEAR_METHODS},
    "gbm": run_gbm,
    "ebm": run_ebm,
}
