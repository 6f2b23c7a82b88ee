"""Worked examples at the level of attributes: labelled attributes of ``train`` tables, and the
prior their nearest neighbours vote for a new table's attributes.

Each entry is one attribute of one train table: its name and meaning, the table's target and what
is judged (the context, since "age" raises a wage and shortens a survival time), and its gold
direction, importance and rho from all of that table's rows. For a new attribute the entries most
similar in meaning *and* context (TF-IDF cosine of the attribute's words, times a factor that
grows with the context's) vote: the similarity-weighted mean of their rho. Where the vote is
clear of ``threshold`` it states a direction, and its size an importance, as a ``Prior`` of
origin "retrieved" that the judge trusts exactly as far as cross-validation on the fit rows
supports, like any prior. The library holds no rows: only words and the gold labels.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from ..fitting.prior import AttributePrior, Prior, belief_from_score
from .tfidf import TfidfVectorizer

#: Neighbours that vote for one attribute.
K = 5
#: How much a dissimilar context still counts: similarity = attribute cosine x (FLOOR + (1 -
#: FLOOR) x context cosine).
CONTEXT_FLOOR = 0.3
#: The weighted mean rho below which the vote says nothing ("none").
THRESHOLD = 0.0
#: Neighbours less similar than this do not vote.
MIN_SIMILARITY = 0.05


@dataclass(frozen=True)
class LabelledAttribute:
    table: str
    attribute: str
    meaning: str
    target: str          # the target's meaning
    judged: str          # what the table's items are and what judges them
    direction: str
    importance: int
    rho: float

    def attribute_text(self) -> str:
        return f"{self.attribute} {self.meaning}"

    def context_text(self) -> str:
        return f"{self.target} {self.judged}"


@dataclass(frozen=True)
class Neighbour:
    entry: LabelledAttribute
    similarity: float


class AttributeLibrary:
    """Labelled attributes and the vote of the nearest ones (see the module docstring)."""

    def __init__(self, entries, *, k: int = K, context_floor: float = CONTEXT_FLOOR,
                 threshold: float = THRESHOLD):
        self.entries = list(entries)
        self.k = k
        self.context_floor = context_floor
        self.threshold = threshold
        texts = [e.attribute_text() for e in self.entries] + [e.context_text()
                                                             for e in self.entries]
        self.vectorizer_ = TfidfVectorizer().fit(texts)
        self.attribute_vectors_ = self.vectorizer_.transform(
            [e.attribute_text() for e in self.entries])
        self.context_vectors_ = self.vectorizer_.transform(
            [e.context_text() for e in self.entries])

    @classmethod
    def from_catalog(cls, part: str = "train", **options) -> AttributeLibrary:
        """Every attribute of the catalog's ``part`` tables (``train``: never ``unseen``, whose
        tables have no gold prior)."""
        import json

        from .catalog import CATALOG_FILE, catalog

        if part == "unseen":
            raise ValueError("unseen tables have no gold prior and never become examples")
        document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        entries = []
        for record in document["tables"]:
            if record["part"] == part:
                card = catalog()[record["key"]].card
                entries += labelled_attributes(
                    record["key"], {"description": card.description,
                                    "target_note": card.target_note,
                                    "attributes": card.attributes}, record["gold_prior"])
        return cls(entries, **options)

    # -- retrieval ---------------------------------------------------------------------------
    def neighbours(self, attribute: str, meaning: str, target: str, judged: str, *,
                   exclude_table: str | None = None, k: int | None = None) -> list[Neighbour]:
        """The ``k`` most similar labelled attributes, most similar first (none from
        ``exclude_table``: a table never votes for itself)."""
        if not self.entries:
            return []
        query_a = self.vectorizer_.transform([f"{attribute} {meaning}"])[0]
        query_c = self.vectorizer_.transform([f"{target} {judged}"])[0]
        similarity = (self.attribute_vectors_ @ query_a) * (
            self.context_floor + (1 - self.context_floor) * (self.context_vectors_ @ query_c))
        if exclude_table is not None:
            similarity = np.where([e.table == exclude_table for e in self.entries], -1.0,
                                  similarity)
        order = np.argsort(-similarity, kind="stable")[: k or self.k]
        return [Neighbour(self.entries[i], float(similarity[i])) for i in order
                if similarity[i] >= MIN_SIMILARITY]

    def vote(self, card: dict, *, exclude_table: str | None = None) -> Prior | None:
        """The neighbours' prior for every attribute of ``card`` (``Dataset.card_entry()``);
        None when no attribute has a neighbour."""
        return self.prior_from_vote(self.vote_scores(card, exclude_table=exclude_table))

    def prior_from_vote(self, scores: dict[str, float]) -> Prior | None:
        attributes = {name: _belief(score, self.threshold) for name, score in scores.items()}
        return Prior(attributes, origin="retrieved") if attributes else None

    def vote_scores(self, card: dict, *, exclude_table: str | None = None) -> dict[str, float]:
        """Per attribute of ``card`` with neighbours, their similarity-weighted mean rho."""
        scores = {}
        for name, meaning in card.get("attributes", {}).items():
            found = self.neighbours(name, meaning, card.get("target_note", ""),
                                    card.get("description", ""), exclude_table=exclude_table)
            if found:
                weights = np.array([n.similarity for n in found])
                scores[name] = float(weights @ np.array([n.entry.rho for n in found])
                                     / weights.sum())
        return scores

    # -- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"k": self.k, "context_floor": self.context_floor, "threshold": self.threshold,
                "entries": [asdict(e) for e in self.entries]}

    @classmethod
    def from_dict(cls, data: dict) -> AttributeLibrary:
        entries = [LabelledAttribute(**e) for e in data.get("entries", [])]
        return cls(entries, k=int(data.get("k", K)),
                   context_floor=float(data.get("context_floor", CONTEXT_FLOOR)),
                   threshold=float(data.get("threshold", THRESHOLD)))


def labelled_attributes(table: str, card: dict, gold: dict) -> list[LabelledAttribute]:
    """One table's attributes with their gold labels (``card`` as ``Dataset.card_entry()``)."""
    return [LabelledAttribute(table, name, card["attributes"].get(name, ""),
                              card.get("target_note", ""), card.get("description", ""),
                              label["direction"], int(label["importance"]), float(label["rho"]))
            for name, label in gold.items()]


def combined_prior(scores: dict[str, float], vote: dict[str, float], weight: float, *,
                   origin: str, shapes: dict[str, str] | None = None) -> Prior:
    """The prior step's scores and the neighbours' vote as one prior.

    Per attribute: the step's signed score (``programs/questions.py``'s log-odds, or a JSON
    prior's direction x importance / 3) plus ``weight`` x the vote (the neighbours' mean rho),
    read back as a belief by ``belief_from_score``. Where the model is unsure the neighbours
    decide, and where both are sure they must agree to be trusted. On corpus tables this beat
    either alone (benchmarks/README.md, "Which prior step to compile").
    """
    shapes = shapes or {}
    names = list(dict.fromkeys([*scores, *vote]))
    return Prior({name: belief_from_score(scores.get(name, 0.0) + weight * vote.get(name, 0.0),
                                          shapes.get(name, "linear")) for name in names},
                 origin=origin)


def prior_scores(prior: Prior) -> dict[str, float]:
    """A stated prior as signed scores: direction x importance / 3."""
    return {name: entry.weight / 3 for name, entry in prior.attributes.items()}


@functools.cache
def default_library() -> AttributeLibrary:
    """The library of the catalog's train tables, built once per process."""
    return AttributeLibrary.from_catalog("train")


def _belief(score: float, threshold: float) -> AttributePrior:
    if abs(score) < threshold:
        return AttributePrior("none", 1)
    size = abs(score)
    importance = 3 if size >= 0.3 else 2 if size >= 0.15 else 1
    return AttributePrior("higher" if score > 0 else "lower", importance)
