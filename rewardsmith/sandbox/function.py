"""``ScoringFunction``: LLM-written (or baseline) source turned into a safe callable.

The source is checked against the allow-list when the object is made; every call runs in the
sandbox process, never in this one. ``export`` writes a standalone ``.py`` file that needs neither
rewardsmith nor anything outside the standard library.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_write_text
from .checks import check_source
from .params import FitResult, declared_params, fit_params, source_lines
from .pool import default_sandbox
from .runner import Sandbox, TextColumn


class ScoringFunction:
    """A checked ``def score(attrs) -> float`` with its source.

    ``attributes`` (optional) names the columns the function expects, in order; ``predict`` uses it
    to pick columns from a DataFrame. ``name`` is a short label (e.g. ``"ols"``).
    """

    def __init__(
        self,
        source: str,
        attributes: list[str] | tuple[str, ...] | None = None,
        *,
        name: str = "score",
        sandbox: Sandbox | None = None,
    ):
        self._tree = check_source(source)
        self.source = source
        self.attributes = tuple(attributes) if attributes is not None else None
        self.name = name
        self._sandbox = sandbox

    # -- inspection --------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        """The declared constants (``PARAMS``), {} when there are none."""
        return declared_params(self.source)

    @property
    def complexity(self) -> int:
        """Size of the function: the number of AST nodes, docstrings and comments excluded."""
        from ..metrics.complexity import complexity

        return complexity(self.source)

    def __repr__(self) -> str:
        return f"ScoringFunction(name={self.name!r}, complexity={self.complexity})"

    def __str__(self) -> str:
        return self.source

    # -- calling -----------------------------------------------------------------------------
    def __call__(self, attrs: dict) -> float:
        """Score one item (numbers, text, None for a missing value). Runs in the sandbox like
        everything else."""
        columns, row = [], []
        for name, value in attrs.items():
            if isinstance(value, str):
                columns.append(TextColumn(name, [value]))
                row.append(0.0)
            else:
                columns.append(name)
                row.append(np.nan if value is None else float(value))
        return float(self._run(columns, np.array([row], dtype=np.float64))[0])

    def predict(self, rows, attributes: list[str] | None = None) -> np.ndarray:
        """Score every row of a DataFrame, a ``RowTable`` or a 2-D array; returns float64 (n,)."""
        columns, matrix = self._matrix(rows, attributes)
        return self._run(columns, matrix)

    def score_frame(self, frame: pd.DataFrame, attributes: list[str] | None = None, *,
                    sandbox=None, chunk_rows: int = 100_000) -> pd.Series:
        """Score every row of a DataFrame; a Series with ``frame``'s index, named ``score``.

        The same values as ``predict``, faster on big tables: in the sandbox, the function is
        called once per chunk with whole numpy columns when it is plain arithmetic (math functions
        included), and once per row otherwise (``if`` on an attribute, a loop, ...). The
        choice is checked against the row path on a sample; rows where numpy flags what a float
        would raise on (x / 0, log(0), ...), or with an inf/NaN input or result, are scored row by
        row, so errors are the row path's. ``result.attrs["score_mode"]``
        says which way it went ("columns" or "rows"). ``sandbox`` defaults to the function's own,
        else the process-wide column-mode pool.
        """
        from ..scoring.frame import score_frame

        return score_frame(self, frame, attributes, sandbox=sandbox, chunk_rows=chunk_rows)

    @property
    def sandbox(self):
        """The sandbox this function was bound to, or None (the process-wide one is used)."""
        return self._sandbox

    def __getstate__(self) -> dict:
        # Source text travels, a live worker process does not: an unpickled function (in a Dask
        # or Spark worker, say) runs in that process's own sandbox.
        state = dict(self.__dict__)
        state["_sandbox"] = None
        state.pop("_tree", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._tree = check_source(self.source)  # checked again where it will run

    def _run(self, columns, matrix, param_sets=None) -> np.ndarray:
        sandbox = self._sandbox or default_sandbox()
        return sandbox.evaluate(self.source, columns, matrix, param_sets, checked=True)

    def _matrix(self, rows, attributes):
        attributes = attributes or (list(self.attributes) if self.attributes else None)
        if hasattr(rows, "X") and hasattr(rows, "attributes"):  # a RowTable
            columns = getattr(rows, "columns", None) or list(rows.attributes)
            return list(columns), np.asarray(rows.X, dtype=np.float64)
        if isinstance(rows, pd.DataFrame):
            from ..scoring.columns import column_reads
            from ..scoring.frame import frame_matrix
            from ..scoring.text import is_text

            reads = column_reads(self.source)
            text = reads.text
            columns = attributes or [
                c for c in rows.columns if pd.api.types.is_numeric_dtype(rows[c]) or c in text
            ]
            missing = [c for c in columns if c not in rows.columns]
            if missing:
                raise KeyError(f"the table lacks columns the function expects: {missing}")
            # A text column it is given but does not read by name (a named attribute it
            # left out) goes as text: only a column it reads as a number must be one.
            unread = {c for c in columns if c not in reads.names and is_text(rows[c])}
            return frame_matrix(rows, list(columns), text=text | unread)
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim != 2 or attributes is None or matrix.shape[1] != len(attributes):
            raise ValueError("a 2-D array needs attribute names for each of its columns")
        return list(attributes), matrix

    # -- fitting -----------------------------------------------------------------------------
    def fit_params(
        self, rows, y=None, attributes=None, **kwargs
    ) -> tuple[ScoringFunction, FitResult]:
        """Fit the declared constants on ``rows`` (a RowTable, or a DataFrame/array with ``y``).

        Returns a new ``ScoringFunction`` with the fitted values in its source, and the fit report.
        """
        columns, matrix = self._matrix(rows, attributes)
        if y is None:
            if not hasattr(rows, "y"):
                raise ValueError("pass y (the target values) with a DataFrame or array")
            y = rows.y
        result = fit_params(self.source, columns, matrix, np.asarray(y, dtype=np.float64),
                            sandbox=self._sandbox, **kwargs)
        fitted = ScoringFunction(result.source, self.attributes, name=self.name,
                                 sandbox=self._sandbox)
        return fitted, result

    # -- export ------------------------------------------------------------------------------
    def export(self, path: str | os.PathLike, *, header: str = "") -> Path:
        """Write a standalone ``.py`` file: the source plus a small CSV command-line entry point.

        The file is written to a temporary name and renamed, so it is never half-written.
        """
        return atomic_write_text(path, render_standalone(self.source, header=header))

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> ScoringFunction:
        """Read a scoring function from a ``.py`` file (an export, or hand-written).

        Only the allowed part is kept: module docstring, ``import math``, ``PARAMS`` and other
        constants, and function definitions. The export's ``if __name__ == "__main__":`` block is
        dropped; anything else still has to pass the static check.
        """
        text = Path(path).read_text(encoding="utf-8")
        return cls(strip_main_block(text), **kwargs)


_MAIN_BLOCK = '''

if __name__ == "__main__":
    # Score a CSV file: python this_file.py items.csv  -> prints one score per row.
    import csv
    import sys

    TEXT_COLUMNS = {text_columns}  # compared with text by score; the others are numbers

    with open(sys.argv[1], newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            values = {}
            for key, text in record.items():
                if key in TEXT_COLUMNS:
                    values[key] = text if text else None  # an empty cell is a missing value
                    continue
                try:
                    values[key] = float(text) if text else None
                except (TypeError, ValueError):
                    pass  # ids and free-text columns are not attributes
            print(score(values))
'''


def render_standalone(source: str, header: str = "") -> str:
    """The text of a standalone module: header comment, ``import math``, source, CSV entry point."""
    lines = []
    if header:
        lines += [f"# {line}".rstrip() for line in header.strip().splitlines()]
    lines.append(_EXPORT_MARK)
    body = _drop_export_header(source.strip("\n"))
    if not _imports_math(body):
        lines.append("import math  # noqa: F401  (available to the scoring function)")
    lines.append("")
    from ..scoring.columns import column_reads

    text = sorted(column_reads(body).text)
    main = _MAIN_BLOCK.replace("{text_columns}", "{" + ", ".join(map(repr, text)) + "}"
                               if text else "set()")
    return "\n".join(lines) + "\n" + body + "\n" + main


_EXPORT_MARK = "# Written by rewardsmith; runs with the Python standard library alone."


def _drop_export_header(body: str) -> str:
    # A re-exported export (from_file, then export) gets a fresh header, not a second one.
    lines = body.split("\n")
    if _EXPORT_MARK in lines:
        end = lines.index(_EXPORT_MARK)
        if all(line.startswith("#") for line in lines[:end]):
            return "\n".join(lines[end + 1:]).strip("\n")
    return body


def strip_main_block(text: str) -> str:
    """Remove top-level ``if __name__ == "__main__":`` blocks (an export's entry point)."""
    tree = ast.parse(text)
    lines = source_lines(text)
    for stmt in reversed(tree.body):
        if (
            isinstance(stmt, ast.If)
            and isinstance(stmt.test, ast.Compare)
            and isinstance(stmt.test.left, ast.Name)
            and stmt.test.left.id == "__name__"
        ):
            del lines[stmt.lineno - 1 : stmt.end_lineno]
    return "".join(lines)


def _imports_math(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(
        isinstance(s, ast.Import) and any(a.name == "math" for a in s.names) for s in tree.body
    )
