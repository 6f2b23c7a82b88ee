"""The validated table and its schema: what every other part of rewardsmith reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FIT = "fit"
HELDOUT = "heldout"


class DatasetError(ValueError):
    """A table that cannot be used as it is.

    The message is one line: it names the column, row or file at fault and says the fix, so that the
    command line can print it as it is, with no traceback.
    """


def group_codes(values) -> np.ndarray:
    """An integer per row, equal for rows of one group; a row with no group value is a group of
    its own (not one group of every such row)."""
    codes, uniques = pd.factorize(values)
    alone = codes < 0
    codes[alone] = len(uniques) + np.arange(int(alone.sum()))
    return codes


def fmt(value: float) -> str:
    """A number as short text for prompts and messages (4 significant digits)."""
    return f"{value:.4g}"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table: id, attribute columns, numeric target, optional split.

    ``frame`` holds float64 numeric attributes (NaN where a value is missing), text attributes
    as ``str`` (None where missing; ``levels`` lists each one's levels, the most frequent
    first), a float64 target and a split column normalised to ``"fit"`` / ``"heldout"``; other
    columns the file had may stay in it (they are never inputs). Tasks hand programs the
    attributes as numbers (``encoding.Encoding``). Frozen by
    convention: build a changed copy with ``dataclasses.replace``. ``eq=False`` because comparing
    DataFrames with ``==`` has no single truth value.
    """

    name: str
    frame: pd.DataFrame = field(repr=False)
    id_column: str
    attributes: tuple[str, ...]
    target: str
    split_column: str | None
    description: str = ""
    attribute_notes: dict[str, str] = field(default_factory=dict)
    license: str = ""
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""
    #: Ordered text attributes, each with its levels in order (from a card's
    #: ``categoriesOrdered`` or a pandas ordered categorical): one feature each, its place.
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: A column whose rows belong together (one subject, several rows: named, or an inferred
    #: id that repeats); a random fit/held-out cut and every CV fold keep each group on one
    #: side. Never an attribute.
    group_column: str | None = None
    notes: tuple[str, ...] = ()
    target_note: str = ""

    def __repr__(self) -> str:
        return (f"<Dataset {self.name!r}: {len(self.frame)} rows, {len(self.attributes)} "
                f"attributes, target {self.target!r}>")

    @property
    def features(self) -> tuple[str, ...]:
        """The names programs fit and priors speak of: each attribute, a text attribute as one
        0/1 feature per level after the first (``colour=red``; see ``encoding.Encoding``), an
        ordered one as itself (its place in the order)."""
        from .encoding import Encoding

        unordered = {name: known for name, known in self.levels.items() if name not in self.orders}
        return Encoding(self.attributes, unordered, orders=self.orders).features

    def gaps(self) -> tuple[str, ...]:
        """The numeric attributes with a missing value in some row."""
        return tuple(a for a in self.attributes
                     if a not in self.levels and self.frame[a].isna().any())

    @property
    def has_official_split(self) -> bool:
        """True when the table brought its own fit/held-out split (a split column)."""
        return self.split_column is not None

    def fit_frame(self) -> pd.DataFrame:
        """Rows a program may look at: split == "fit", or every row when there is no split."""
        if self.split_column is None:
            return self.frame.copy()
        return self.frame[self.frame[self.split_column] == FIT].reset_index(drop=True)

    def heldout_frame(self) -> pd.DataFrame:
        """Rows only the metric sees: split == "heldout" (none when there is no split column)."""
        if self.split_column is None:
            return self.frame.iloc[0:0].copy()
        return self.frame[self.frame[self.split_column] == HELDOUT].reset_index(drop=True)

    def schema_text(self, frame: pd.DataFrame | None = None, *, ranges: str = "all") -> str:
        """The attributes as a prompt sees them: one line each, with meaning and observed range.

        Ranges come from ``frame``; by default from the fit rows, never the held-out ones, so that a
        prompt cannot learn anything about rows it will be scored on. ``ranges="undescribed"``
        shows a range only for an attribute the card does not describe: the prior step's text,
        which then depends on the card alone wherever there is one, so one LM call serves every
        fit size and seed of a table.
        """
        frame = self.fit_frame() if frame is None else frame
        target_note = f" ({self.target_note})" if self.target_note else ""
        lines = [
            f"Target: {self.target}{target_note}: the human judgment the function must rank "
            "items by. It is never an input: score(attrs) receives only the attributes below.",
            f"Attributes (keys of attrs, each a float; {len(self.attributes)} in all):",
        ]
        for name in self.attributes:
            note = self.attribute_notes.get(name, "")
            if note and ranges == "undescribed":
                lines.append(f"- {name}: {note}")
                continue
            values = frame[name] if len(frame) else None
            span = (f"range {fmt(values.min())}..{fmt(values.max())}"
                    if values is not None else "no rows")
            lines.append(f"- {name}: {note} ({span})" if note else f"- {name} ({span})")
        return "\n".join(lines)

    def card_entry(self) -> dict:
        """What the table says about itself, with no rows: the description, the target and each
        attribute's meaning. Retrieval of similar tables and attributes reads this."""
        return {"name": self.name, "description": self.description, "target": self.target,
                "target_note": self.target_note,
                "attributes": {a: self.attribute_notes.get(a, "") for a in self.attributes}}
