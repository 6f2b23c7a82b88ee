"""The prior by questions: one short question per attribute, answered by probabilities.

Instead of one JSON reply for the whole table, the model is asked for each attribute "other things
being equal, does a higher X make the judgment better or worse?" and again with "a lower X", and
only the log-probabilities of "better" and "worse" are read (``lm/options.py``), with no
generation. The attribute's score is half the difference of the two log-odds: a model that leans
to "better" whatever it is asked (small models do) leans the same way in both questions, and the
lean cancels. The score is a confidence, so it gives the importance too, and the rows check it in
the judge like any prior.

Every question about one table starts with the same text (the description and the card's schema)
so the embedded model reads that once and each question costs only its last lines; a table of 10
attributes took about 10 s on 2 cores, against 16-36 s for one JSON prior. With a library
(a compile by retrieval) the attribute's nearest labelled attributes of other tables stand just
before its question, so the material differs per attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fitting.prior import Prior, belief_from_score
from ..lm.options import option_logprobs

SYSTEM = "You know how things work in many fields. Answer with one word: better or worse."
QUESTION = ("Question: other things being equal, does a {end} {attribute}{meaning} make the "
            "judgment ({target}) better or worse?")
OPTIONS = ("better", "worse")


@dataclass(frozen=True)
class Answer:
    """One attribute's two answers, as log-odds of "better" over "worse"."""

    attribute: str
    higher: float   # asked about a higher value
    lower: float    # asked about a lower value

    @property
    def score(self) -> float:
        """Positive: higher is better. The lean both questions share cancels."""
        return (self.higher - self.lower) / 2


def ask_attributes(description: str, schema: str, attributes, *, target: str,
                   meanings: dict[str, str] | None = None,
                   evidence: dict[str, str] | None = None, lm=None) -> list[Answer]:
    """Two questions per attribute (see the module docstring); raises ``NoLogprobsError`` for a
    model that gives no log-probabilities."""
    meanings, evidence = meanings or {}, evidence or {}
    shared = f"{description}\n\n{schema}\n\n"
    answers = []
    for attribute in attributes:
        meaning = f" ({meanings[attribute]})" if meanings.get(attribute) else ""
        seen = f"In other tables: {evidence[attribute]}\n" if evidence.get(attribute) else ""
        odds = {}
        for end in ("higher", "lower"):
            question = QUESTION.format(end=end, attribute=attribute, meaning=meaning,
                                       target=target)
            logprobs = option_logprobs(SYSTEM, shared + seen + question, OPTIONS, lm=lm)
            odds[end] = logprobs["better"] - logprobs["worse"]
        answers.append(Answer(attribute, odds["higher"], odds["lower"]))
    return answers


def prior_from_answers(answers: list[Answer]) -> Prior | None:
    """Direction from the score's sign, importance from its size; None for no answers."""
    if not answers:
        return None
    return Prior({a.attribute: belief_from_score(a.score) for a in answers}, origin="asked")
