"""A dense metric for the prior step: how far the stated prior agrees with the gold prior.

Held-out rho after 10-20 fit rows is mostly noise, so an optimizer tuning the prior step on it
learns nothing (issue 22: four GEPA proposals, none better). The gold prior of a corpus train or
validation table (``corpus/gold.py``, from all its rows) says what each direction should be.
The score weights each attribute by the size of its effect, |rho| over all rows::

    score = sum(|rho_a| * s_a) / sum(|rho_a|),   s_a = +1 same direction, -1 the opposite,
                                                    0 when one of the two says "none"

so it lies in [-1, 1] like rho (GEPA's failure and perfect scores stay -1 and 1), and getting
alcohol right on wine counts more than getting pH right. The feedback names every attribute
it got wrong, the biggest effects first. A task without a gold prior scores 0 with a note.
"""

from __future__ import annotations

from ..fitting.prior import Prior

_SIGN = {"higher": 1, "lower": -1, "none": 0}


def prior_agreement(prior: Prior | None, gold: dict) -> tuple[float, list[str]]:
    """(score in [-1, 1], one line per attribute it got wrong, biggest effect first)."""
    total = signed = 0.0
    wrong = []
    for name, label in sorted(gold.items(), key=lambda kv: -abs(kv[1].get("rho", 0.0))):
        weight = abs(float(label.get("rho", 0.0)))
        if weight == 0:
            continue
        entry = prior.attributes.get(name) if prior is not None else None
        said = entry.direction if entry is not None else "none"
        total += weight
        signed += weight * _SIGN[said] * _SIGN[label["direction"]]
        if said != label["direction"]:
            truth = ("no clear effect" if label["direction"] == "none"
                     else f"{label['direction']} is better")
            wrong.append(f"{name}: you said {said}; over all the table's rows {truth} "
                         f"(rank correlation {label['rho']:+.2f})")
    return (signed / total if total else 0.0), wrong


def directions_agreed(prior: Prior | None, gold: dict) -> tuple[int, int]:
    """(stated as gold says, attributes with a gold direction): the plain count beside the
    weighted score."""
    agree = total = 0
    for name, label in gold.items():
        if label["direction"] == "none":
            continue
        total += 1
        entry = prior.attributes.get(name) if prior is not None else None
        agree += int(entry is not None and entry.direction == label["direction"])
    return agree, total


def prior_metric(gold, prediction, trace=None) -> float:
    """The score alone, for optimizers that take a float metric (bootstrap, MIPROv2)."""
    return prior_feedback_metric(gold, prediction).score


def prior_feedback_metric(gold, prediction, trace=None, pred_name=None, pred_trace=None):
    """GEPA's form: ``dspy.Prediction(score, feedback)``, the feedback for the prior step."""
    import dspy

    labels = gold.get("gold_prior") if hasattr(gold, "get") else None
    if not labels:
        return dspy.Prediction(score=0.0, feedback="This task has no gold prior to compare with "
                               "(only corpus train and validation tables have one).")
    prior = getattr(prediction, "prior", None)
    if prior is None:
        return dspy.Prediction(score=-1.0, feedback=(
            "No usable prior came back: answer with one entry per attribute, each with "
            "direction higher/lower/none, importance 1-3 and a shape."))
    score, wrong = prior_agreement(prior, labels)
    if not wrong:
        return dspy.Prediction(score=score, feedback="Every direction agrees with the table.")
    return dspy.Prediction(score=score, feedback=(
        f"Agreement {score:+.2f} (effect-weighted, -1 to 1). Directions that disagree with the "
        "table, biggest effect first:\n- " + "\n- ".join(wrong[:8])
        + "\nThink about what each attribute means for the judgment before you answer."))
