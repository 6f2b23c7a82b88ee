"""The elicited prior: what the language model (or the user) knows about each attribute before
looking at the rows: its direction, its importance and the shape of its effect.

A ``Prior`` is plain data. It becomes one number per attribute (direction x importance, in standard
units) for the shrunk fit, it is rendered as text for the writer and for the user, and it is read
from or written to a small JSON file so a user can correct it (``--prior prior.json``)::

    {"attributes": {"light": {"direction": "higher", "importance": 3, "shape": "saturating"},
                    "noise": "lower"}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from ..files import atomic_write_text, read_json

DIRECTIONS = ("higher", "lower", "none")
SHAPES = ("linear", "saturating", "threshold", "peak")
_SIGN = {"higher": 1.0, "lower": -1.0, "none": 0.0}
_DIRECTION_WORDS = {
    "higher": "higher", "higher_is_better": "higher", "+": "higher", "up": "higher",
    "positive": "higher", "increase": "higher",
    "lower": "lower", "lower_is_better": "lower", "-": "lower", "down": "lower",
    "negative": "lower", "decrease": "lower",
    "none": "none", "no_effect": "none", "0": "none", "neutral": "none", "unknown": "none",
}


class PriorError(ValueError):
    """A prior file or value that cannot be used; the message names the entry and the fix."""


@dataclass(frozen=True)
class AttributePrior:
    direction: str = "none"   # higher / lower / none: which way the judgment moves
    importance: int = 2       # 1 (minor) .. 3 (major)
    shape: str = "linear"     # linear / saturating / threshold / peak

    @property
    def weight(self) -> float:
        """Direction times importance: the prior's coefficient in standard units."""
        return _SIGN[self.direction] * self.importance


@dataclass
class Prior:
    """One ``AttributePrior`` per attribute; ``origin`` says who stated it (for the report)."""

    attributes: dict[str, AttributePrior] = field(default_factory=dict)
    origin: str = "elicited"

    # -- use ---------------------------------------------------------------------------------
    def vector(self, names) -> np.ndarray:
        """The prior's weights for ``names`` (0 for an attribute it does not mention)."""
        return np.array([self.attributes[a].weight if a in self.attributes else 0.0
                         for a in names], dtype=np.float64)

    def is_informative(self, names) -> bool:
        return bool(np.any(self.vector(names)))

    def agreement(self, rows) -> tuple[int, int]:
        """(agreeing, stated): how many stated directions share the sign of the attribute's rank
        correlation with the target on ``rows`` (the fit rows)."""
        agree = stated = 0
        for j, name in enumerate(rows.attributes):
            entry = self.attributes.get(name)
            if entry is None or entry.direction == "none" or np.ptp(rows.X[:, j]) == 0:
                continue
            rho = stats.spearmanr(rows.X[:, j], rows.y).statistic
            if not np.isfinite(rho) or rho == 0:
                continue
            stated += 1
            agree += int(np.sign(rho) == _SIGN[entry.direction])
        return agree, stated

    def render(self, names=None) -> str:
        """One line per attribute, for the writer's prompt and the run's output."""
        names = list(names) if names is not None else list(self.attributes)
        lines = []
        for name in names:
            entry = self.attributes.get(name)
            if entry is None:
                lines.append(f"- {name}: no prior")
            elif entry.direction == "none":
                lines.append(f"- {name}: no effect expected")
            else:
                lines.append(f"- {name}: {entry.direction} is better, importance "
                             f"{entry.importance}/3, {entry.shape}")
        return "\n".join(lines)

    # -- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"origin": self.origin, "attributes": {
            name: {"direction": e.direction, "importance": e.importance, "shape": e.shape}
            for name, e in self.attributes.items()}}

    def save(self, path: str | os.PathLike, note: str = "") -> Path:
        """Write the prior as JSON; ``note`` (say, that the LM failed) is kept in the file for
        whoever reads it, and not read back."""
        data = self.to_dict()
        if note:
            data = {"origin": data["origin"], "note": note, "attributes": data["attributes"]}
        return atomic_write_text(path, json.dumps(data, indent=2) + "\n")

    @classmethod
    def from_dict(cls, data, *, known=None, origin: str = "user") -> Prior:
        """Read ``{"attributes": {name: entry}}`` or ``{name: entry}``; an entry is a direction
        word or ``{"direction", "importance", "shape"}``. ``known`` (the table's attributes)
        turns an unknown name into an error instead of a silent no-op. A file's own "origin" is
        not read back: whoever loads a prior file now states it."""
        if not isinstance(data, dict):
            raise PriorError("a prior is a JSON object of attribute names to directions")
        entries = data.get("attributes", data) if "attributes" in data else data
        if not isinstance(entries, dict):
            raise PriorError('"attributes" must be an object of attribute names to directions')
        parsed = {}
        for name, entry in entries.items():
            if known is not None and name not in known:
                raise PriorError(f"the prior names attribute {name!r}, which the table does not "
                                 f"have; its attributes are {', '.join(known)}")
            parsed[name] = parse_entry(name, entry)
        return cls(parsed, origin)

    @classmethod
    def load(cls, path: str | os.PathLike, *, known=None) -> Prior:
        path = Path(path)
        data = read_json(
            path, PriorError, missing=f"prior file not found: {path}",
            damaged=lambda exc: f"{path} is not valid JSON ({exc}); see `rewardsmith run --help` "
            "for the prior's format")
        return cls.from_dict(data, known=known, origin=f"user ({path.name})")


#: A signed confidence score (positive: higher is better) below which a belief says "none", and
#: from which its importance is 2 and 3. Chosen on 40 corpus train tables for the asked prior
#: plus the neighbours' vote (``programs/questions.py``), about the thirds of its sizes there.
SCORE_NONE_BELOW = 0.02
SCORE_IMPORTANCE = (0.25, 0.6)


def belief_from_score(score: float, shape: str = "linear") -> AttributePrior:
    """A belief from a signed score: its sign the direction, its size the importance."""
    size = abs(score)
    if size < SCORE_NONE_BELOW:
        return AttributePrior("none", 1, shape)
    importance = 3 if size >= SCORE_IMPORTANCE[1] else 2 if size >= SCORE_IMPORTANCE[0] else 1
    return AttributePrior("higher" if score > 0 else "lower", importance, shape)


def parse_entry(name: str, entry) -> AttributePrior:
    """One attribute's prior from a direction word or a dict; raises ``PriorError``."""
    if isinstance(entry, str):
        entry = {"direction": entry}
    if not isinstance(entry, dict):
        raise PriorError(f"prior for {name!r}: expected a direction word or an object, "
                         f"not {entry!r}")
    word = str(entry.get("direction", "none")).strip().lower().replace(" ", "_")
    if word not in _DIRECTION_WORDS:
        raise PriorError(f"prior for {name!r}: direction {entry.get('direction')!r} is not one "
                         f"of {', '.join(DIRECTIONS)}")
    importance = entry.get("importance", 2)
    try:
        importance = int(importance)
    except (TypeError, ValueError):
        raise PriorError(f"prior for {name!r}: importance must be 1, 2 or 3, not "
                         f"{importance!r}") from None
    shape = str(entry.get("shape", "linear")).strip().lower()
    if shape not in SHAPES:
        raise PriorError(f"prior for {name!r}: shape {shape!r} is not one of {', '.join(SHAPES)}")
    return AttributePrior(_DIRECTION_WORDS[word], min(3, max(1, importance)), shape)


def match_name(name: str, attributes) -> str | None:
    """The attribute a model's spelling refers to (case, spaces and dashes ignored)."""
    def key(text: str) -> str:
        return "".join(ch for ch in str(text).lower() if ch.isalnum())

    wanted = key(name)
    for attribute in attributes:
        if key(attribute) == wanted:
            return attribute
    return None
