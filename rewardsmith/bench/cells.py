"""The cell log: one JSON line per finished cell, so an interrupted benchmark resumes.

A cell is one (dataset, method, fit size, seed). Each finished cell is appended and fsynced at
once: a benchmark killed at any moment loses at most the cell it was computing. A torn last line
(killed mid-write) is skipped on reading; when a key appears twice, the later line wins.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def cell_key(record: dict) -> tuple:
    """The identity of a cell: what it measured, not how it came out."""
    return (record["dataset"], record["method"], record["fit_size"], record["seed"])


class CellLog:
    """``cells.jsonl`` in a benchmark's output folder."""

    def __init__(self, path: str | os.PathLike, *, resume: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.path.write_text("", encoding="utf-8")
        elif self.path.is_file() and self.path.stat().st_size:
            with open(self.path, "rb+") as fh:  # end a torn last line so appends start clean
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def read(self) -> dict[tuple, dict]:
        """Finished cells by key (later lines win); unreadable lines are skipped with a note."""
        if not self.path.is_file():
            return {}
        cells: dict[tuple, dict] = {}
        skipped = 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                cells[cell_key(record)] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                skipped += 1
        if skipped:
            log.warning("note: skipped %d unreadable line(s) in %s; those cells run again",
                        skipped, self.path)
        return cells

    def append(self, record: dict) -> None:
        """Write one finished cell and make sure it reached the disk before going on."""
        line = json.dumps(record, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
