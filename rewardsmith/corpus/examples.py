"""The worked examples a compiled program keeps for its prior step: tables and attributes.

``PriorLibrary.from_tasks(trainset)`` takes every task that carries a gold prior (corpus
``train``/``validation`` tables) and keeps, per table, what the prior step saw (the description
and the card's schema text) with the gold answer, and every attribute with its label. No rows are
kept. For a new table it gives

- ``demos(...)``: the ``k`` most similar tables as demonstrations of the prior step (DSPy's
  ``KNN`` over TF-IDF vectors of their description and schema, so nothing is downloaded);
- ``evidence(card)``: for each attribute, its nearest labelled attributes, as a line the prompt
  shows beside the attribute (different for every attribute, so a model that copies labels
  copies the right ones);
- ``vote(card)``: those neighbours' prior (``library.AttributeLibrary.vote``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import dspy

from .library import AttributeLibrary, labelled_attributes
from .tfidf import TfidfVectorizer

#: Neighbours shown beside one attribute, and the similarity a neighbour needs to be shown.
EVIDENCE_NEIGHBOURS = 2
EVIDENCE_MIN_SIMILARITY = 0.1


@dataclass(frozen=True)
class TableExample:
    table: str
    description: str
    attribute_schema: str
    beliefs: list[dict]       # the gold prior as the prior step answers: attribute, direction...

    def as_demo(self) -> dspy.Example:
        return dspy.Example(description=self.description,
                            attribute_schema=self.attribute_schema,
                            beliefs=self.beliefs).with_inputs("description", "attribute_schema")


class PriorLibrary:
    """Worked examples for the prior step (see the module docstring)."""

    def __init__(self, tables: list[TableExample], attributes: AttributeLibrary):
        self.tables = list(tables)
        self.attributes = attributes
        self._knn = None

    @classmethod
    def from_tasks(cls, tasks) -> PriorLibrary:
        tables, entries, seen = [], [], set()
        for task in tasks:
            gold = task.get("gold_prior") if hasattr(task, "get") else None
            if not gold or task.dataset in seen:
                continue
            seen.add(task.dataset)
            beliefs = [{"attribute": a, "direction": g["direction"],
                        "importance": int(g["importance"]), "shape": "linear"}
                       for a, g in gold.items()]
            tables.append(TableExample(task.dataset, task.description,
                                       task.get("prior_schema") or task.schema, beliefs))
            entries += labelled_attributes(task.dataset, task.card, gold)
        return cls(tables, AttributeLibrary(entries))

    # -- use ---------------------------------------------------------------------------------
    def demos(self, description: str, schema: str, k: int, *,
              exclude_table: str | None = None) -> list[dspy.Example]:
        """The ``k`` tables most similar to this one, as prior-step demonstrations."""
        candidates = [t for t in self.tables if t.table != exclude_table]
        if k < 1 or not candidates:
            return []
        trainset = [t.as_demo() for t in candidates]
        texts = [f"description: {t.description} | attribute_schema: {t.attribute_schema}"
                 for t in candidates]
        vectorizer = TfidfVectorizer().fit(texts)
        knn = dspy.KNN(k=min(k, len(trainset)), trainset=trainset,
                       vectorizer=dspy.Embedder(vectorizer, caching=False))
        return knn(description=description, attribute_schema=schema)

    def evidence(self, card: dict, *, exclude_table: str | None = None) -> dict[str, str]:
        """Per attribute, a short line on its nearest labelled attributes (omitted when none
        is similar enough)."""
        lines = {}
        for name, meaning in card.get("attributes", {}).items():
            found = [n for n in self.attributes.neighbours(
                name, meaning, card.get("target_note", ""), card.get("description", ""),
                exclude_table=exclude_table, k=EVIDENCE_NEIGHBOURS)
                if n.similarity >= EVIDENCE_MIN_SIMILARITY]
            if found:
                lines[name] = "; ".join(
                    f"'{n.entry.attribute}' ({_short(n.entry.meaning)}) for "
                    f"{_short(n.entry.target)}: {_said(n.entry.direction)}" for n in found)
        return lines

    def vote(self, card: dict, *, exclude_table: str | None = None):
        return self.attributes.vote(card, exclude_table=exclude_table)

    # -- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"tables": [asdict(t) for t in self.tables],
                "attributes": self.attributes.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> PriorLibrary:
        return cls([TableExample(**t) for t in data.get("tables", [])],
                   AttributeLibrary.from_dict(data.get("attributes", {})))


def with_evidence(schema: str, evidence: dict[str, str]) -> str:
    """The prior step's schema text with each attribute's evidence after its line."""
    if not evidence:
        return schema
    lines = []
    for line in schema.splitlines():
        lines.append(line)
        name = line[2:].split(":", 1)[0].split(" (", 1)[0] if line.startswith("- ") else None
        if name in evidence:
            lines.append(f"  (in other tables: {evidence[name]})")
    return "\n".join(lines)


def _said(direction: str) -> str:
    return {"higher": "higher was better", "lower": "lower was better"}.get(direction,
                                                                          "no clear effect")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
