"""The built-in datasets: where their files are and what their columns mean.

Each folder under ``builtin/`` holds the data as shipped (values unchanged), its PROVENANCE.md and
its card, a ``datapackage.json`` (``card.py``) transcribed from the provenance: what is judged,
the target, every attribute's meaning and scale, the licence and how the split was made. The
loader reads the card, so a built-in describes itself exactly as a user's file with a card does.
A test checks that the loader's inferred attributes equal the card's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .card import CARD_FILE, Card

BUILTIN_DIR = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in dataset: its card (roles, meanings, files) and the few loading settings the
    card's extras carry."""

    card: Card

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def description(self) -> str:
        return self.card.description

    @property
    def attributes(self) -> dict[str, str]:
        return self.card.attributes

    @property
    def license(self) -> str:
        return self.card.license

    @property
    def split(self) -> str:
        """How the split column was made, in words."""
        return self.card.extra.get("split", "")

    @property
    def split_column(self) -> str:
        return self.card.extra.get("split_column", "split")

    @property
    def split_by_file(self) -> bool:
        """True when the files are one split each (train.csv, test.csv): the split column is
        made from each file's stem at load time."""
        return bool(self.card.extra.get("split_by_file", False))

    def paths(self) -> list[Path]:
        return [BUILTIN_DIR / self.name / f for f in self.card.paths]


@functools.cache
def _catalog() -> dict[str, BuiltinSpec]:
    specs = {}
    for folder in sorted(p for p in BUILTIN_DIR.iterdir() if (p / CARD_FILE).is_file()):
        spec = BuiltinSpec(Card.load(folder / CARD_FILE))
        specs[spec.name] = spec
    # The order people know them by: the seed first, then the benchmark tables.
    order = ["seed", "aadb", "spaq", "wine_quality", "fed_turn"]
    return {n: specs[n] for n in sorted(specs, key=lambda n: (n not in order,
                                                              order.index(n) if n in order else 0,
                                                              n))}


CATALOG: dict[str, BuiltinSpec] = _catalog()
