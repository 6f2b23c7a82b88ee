"""The Spearman metric: how well a scoring function ranks rows it has never seen.

``spearman_metric`` is what every optimizer and evaluator calls; it always returns the same number
for the same function and task: Spearman rho between the function's outputs and the target on the
task's held-out rows, or -1.0 when the function fails, times out, returns non-finite values or a
constant. ``spearman_feedback_metric`` returns that same number inside a ``dspy.Prediction`` with
textual feedback for GEPA's reflection.

The feedback never describes held-out rows one by one: it would leak them into the prompts GEPA
writes. The concrete examples (the items ranked most wrongly) come from the fit rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..data.overlap import seen_in_fit
from ..fitting.rank import FAILURE_SCORE, spearman
from ..sandbox import SandboxError, ScoringFunction, UnsafeCodeError


@dataclass
class Evaluation:
    """The outcome of running one function on one set of rows."""

    rho: float
    ok: bool
    reason: str = ""  # why it failed or scored -1, in words the LLM can act on
    line: int = 0
    outputs: np.ndarray | None = field(default=None, repr=False)


def evaluate_function(function, rows) -> Evaluation:
    """Run ``function`` (a ScoringFunction or source text) on a ``RowTable``; never raises for a
    bad candidate."""
    try:
        if not isinstance(function, ScoringFunction):
            function = ScoringFunction(_as_source(function))
        outputs = function.predict(rows)
    except UnsafeCodeError as exc:
        reason = f"rejected by the safety check: {exc.reason}"
        return Evaluation(FAILURE_SCORE, False, reason, exc.line)
    except SandboxError as exc:
        return Evaluation(FAILURE_SCORE, False, f"failed when run: {exc.reason}", exc.line)
    except (KeyError, ValueError, TypeError) as exc:
        return Evaluation(FAILURE_SCORE, False, f"could not be evaluated: {exc}")
    bad = ~np.isfinite(outputs)
    if bad.any():
        first = int(np.argmax(bad))
        return Evaluation(
            FAILURE_SCORE, False,
            f"returned a non-finite value ({outputs[first]}) for {int(bad.sum())} of "
            f"{len(outputs)} rows, first for attrs {_attrs_text(rows, first)}; guard divisions, "
            "logarithms and exponentials",
            outputs=outputs,
        )
    if len(outputs) > 1 and np.ptp(outputs) == 0:
        return Evaluation(
            FAILURE_SCORE, False,
            f"constant output: every row scored {outputs[0]:g}; the score must vary with the "
            "attributes",
            outputs=outputs,
        )
    return Evaluation(spearman(outputs, rows.y), True, outputs=outputs)


def usable_outputs(function, rows) -> np.ndarray | None:
    """``function``'s outputs on ``rows``; None when there is no function or it fails there
    (``heldout_scores`` then scores -1, as the metric scores a failing function)."""
    if function is None:
        return None
    evaluation = evaluate_function(function, rows)
    return evaluation.outputs if evaluation.ok else None


def heldout_scores(outputs, fit_rows, heldout_rows) -> dict:
    """Held-out rho on every held-out row, and on those whose attributes no fit row repeats
    (``unseen_rho``; the same rows when none repeats one), with how many repeat one
    (``heldout_seen``). ``outputs`` None (no function, or it failed there) scores -1."""
    seen = seen_in_fit(fit_rows, heldout_rows)
    scores = {"rho": FAILURE_SCORE, "unseen_rho": FAILURE_SCORE, "heldout_seen": int(seen.sum())}
    if outputs is None:
        return scores
    outputs = np.asarray(outputs, dtype=np.float64)
    y = heldout_rows.y
    scores["rho"] = spearman(outputs, y)
    scores["unseen_rho"] = spearman(outputs[~seen], y[~seen])
    return scores


def _function_of(prediction):
    """The candidate inside whatever an optimizer hands us: a Prediction, a function or source."""
    for name in ("function", "code", "source"):
        value = getattr(prediction, name, None)
        if value is not None:
            return value
    if isinstance(prediction, (ScoringFunction, str)):
        return prediction
    try:
        return prediction["function"]
    except (KeyError, TypeError, IndexError):
        return None


def _as_source(value) -> str:
    if isinstance(value, ScoringFunction):
        return value.source
    code = getattr(value, "code", value)  # dspy.Code carries its text in .code
    if not isinstance(code, str):
        raise TypeError(f"no scoring function source in {type(value).__name__}")
    return code


def spearman_metric(gold, prediction, trace=None, pred_name=None, pred_trace=None) -> float:
    """Held-out Spearman rho of the predicted function on ``gold.heldout_rows``; -1.0 on failure.

    Accepts DSPy's 3-argument and GEPA's 5-argument calling conventions and returns the same
    number for both.
    """
    function = _function_of(prediction)
    if function is None:
        return FAILURE_SCORE
    return evaluate_function(function, gold.heldout_rows).rho


def spearman_feedback_metric(gold, prediction, trace=None, pred_name=None, pred_trace=None):
    """GEPA's form: ``dspy.Prediction(score=<spearman_metric>, feedback=<text>)``.

    The score is the same for every predictor; the feedback is for the one GEPA is improving:
    for the prior step (``pred_name == "elicit"``) it is about the prior's directions, which the
    fit rows can check; for the others it is about the code.
    """
    import dspy

    function = _function_of(prediction)
    if function is None:
        return dspy.Prediction(
            score=FAILURE_SCORE,
            feedback="No scoring function was produced: write def score(attrs): ... as code.",
        )
    held = evaluate_function(function, gold.heldout_rows)
    if pred_name == "elicit":
        return dspy.Prediction(score=held.rho, feedback=prior_feedback(prediction, gold))
    return dspy.Prediction(score=held.rho, feedback=feedback_text(function, gold, held))


def prior_feedback(prediction, gold) -> str:
    """How the stated prior compares with the fit rows: which directions the rows contradict
    (fit rows only: the held-out rows never reach a prompt GEPA writes)."""
    prior = getattr(prediction, "prior", None)
    if prior is None:
        return ("No usable prior came back: answer with one entry per attribute, each with "
                "direction higher/lower/none, importance 1-3 and a shape.")
    rows = gold.fit_rows
    agree, stated = prior.agreement(rows)
    parts = [f"{agree} of {stated} stated directions agree with the rank correlations of the "
             f"{len(rows)} fit rows."]
    for j, name in enumerate(rows.attributes):
        entry = prior.attributes.get(name)
        if entry is None:
            parts.append(f"No entry for {name}.")
            continue
        if entry.direction == "none" or np.ptp(rows.X[:, j]) == 0:
            continue
        rho = stats.spearmanr(rows.X[:, j], rows.y).statistic
        if np.isfinite(rho) and rho != 0 and np.sign(rho) != (1 if entry.direction ==
                                                               "higher" else -1):
            parts.append(f"{name}: stated {entry.direction} is better, but on the fit rows its "
                         f"rank correlation with the judgment is {rho:+.2f}.")
    chosen = getattr(prediction, "chosen", None)
    if chosen:
        parts.append(f"Cross-validation chose: {chosen}.")
    return " ".join(parts)


def feedback_text(function, gold, held: Evaluation | None = None, worst: int = 3) -> str:
    """Concrete feedback: the failure and its line, or rho on held-out and fit rows plus the fit
    rows the function ranks most wrongly, with their attributes."""
    held = held or evaluate_function(function, gold.heldout_rows)
    if not held.ok:
        where = f" (line {held.line})" if held.line else ""
        return f"The function scored {FAILURE_SCORE:g}{where}: {held.reason}"
    fit_rows = gold.fit_rows
    fit = evaluate_function(function, fit_rows)
    parts = [f"Held-out Spearman rho {held.rho:.3f} (higher is better, 1.0 is perfect)."]
    if fit.ok:
        parts.append(f"On the fit rows rho is {fit.rho:.3f}.")
        parts.extend(worst_ranked(fit.outputs, fit_rows, worst))
    else:
        parts.append(f"On the fit rows it failed: {fit.reason}")
    try:
        size = ScoringFunction(_as_source(function)).complexity
        parts.append(f"Complexity {size} AST nodes (shorter is easier to read).")
    except (UnsafeCodeError, TypeError):
        pass
    return " ".join(parts)


def worst_ranked(outputs: np.ndarray, rows, k: int = 3) -> list[str]:
    """Lines describing the ``k`` rows whose predicted rank is furthest from their true rank."""
    n = len(outputs)
    if n < 3:
        return []
    predicted = stats.rankdata(outputs) / n
    actual = stats.rankdata(rows.y) / n
    gap = predicted - actual
    lines = []
    for i in np.argsort(-np.abs(gap))[:k]:
        direction = "too high" if gap[i] > 0 else "too low"
        lines.append(
            f"Ranked {direction}: item {rows.ids[i]} with {_attrs_text(rows, i)} has "
            f"{rows.target} {rows.y[i]:g} (true rank {actual[i]:.0%} of rows) but the function "
            f"put it at {predicted[i]:.0%}."
        )
    return lines


def _attrs_text(rows, i: int) -> str:
    values = rows.X[i]
    pairs = zip(rows.attributes, values, strict=True)
    return "{" + ", ".join(f"{a}: {v:g}" for a, v in pairs) + "}"
