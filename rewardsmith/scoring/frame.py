"""Scoring a DataFrame, or a stream of its chunks, in the sandbox: by whole columns where the
function allows it, row by row otherwise, with the results of the row path either way.

``FrameScorer`` decides once, on the first chunk of more than ``sample_rows`` rows: it calls the
function once with numpy columns (``Sandbox.evaluate_columns``) and compares the result with the
row path on a sample of rows. Column mode is kept only if the function ran on columns and agreed;
otherwise every chunk is scored row by row. In column mode the row path still scores every row the
column pass cannot vouch for: where numpy raised FloatingPointError (a float would raise there:
x / 0, log(0), ...; found by halving the chunk) and where an input or the result is inf/NaN. Those
rows are scored in table order, so an error is the one ``predict`` raises. Each later chunk is
spot-checked on a few rows. ``mode`` and ``reason`` say what was chosen and why; ``counts`` how
many rows went which way.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading

import numpy as np
import pandas as pd

from ..data.dataset import DatasetError
from ..sandbox.pool import default_column_pool
from ..sandbox.runner import Rows, SandboxError
from .columns import ColumnReads, column_reads, missing_column
from .text import coded

log = logging.getLogger(__name__)

COLUMNS = "columns"
ROWS = "rows"
SCORE = "score"

# Column and row results of the same arithmetic agree to the last bit; numpy's exp/log/... may
# differ from the math module's in the last place or two.
_RTOL = 1e-9
_ATOL = 1e-12


class FrameScorer:
    """Scores chunks of one table with one function (see the module docstring).

    ``attributes``: the columns to pass as ``attrs`` (default: the function's own, else the columns
    it reads, else every numeric column, as ``predict``). ``sandbox``: a ``Sandbox`` or
    ``SandboxPool`` (default: the function's own, else the process-wide column-mode pool); one
    without column mode scores row by row. ``exclude``: columns never passed as attributes (an id).
    Thread-safe: chunks may be scored in parallel threads, each on its own worker of a pool.
    """

    def __init__(self, function, attributes=None, *, sandbox=None, exclude=(),
                 where: str = "the table", row_batch: int = 20_000, sample_rows: int = 32,
                 spot_rows: int = 8, split_rows: int = 1024):
        self.source = function.source
        attributes = attributes if attributes is not None else function.attributes
        self.attributes = list(attributes) if attributes is not None else None
        self.sandbox = sandbox or getattr(function, "sandbox", None) or default_column_pool()
        self.exclude = set(exclude)
        self.where = where
        self.row_batch = row_batch
        self.sample_rows = sample_rows
        self.spot_rows = spot_rows
        self.split_rows = split_rows
        self.reads: ColumnReads = column_reads(self.source)
        self.mode: str | None = None  # COLUMNS or ROWS once decided
        self.reason = ""
        self.counts = {COLUMNS: 0, ROWS: 0, "recomputed": 0}
        self._lock = threading.RLock()

    # -- public ------------------------------------------------------------------------------
    def columns_for(self, names, numeric) -> list[str]:
        """The attribute columns for a table with columns ``names`` (``numeric``: the numeric
        ones). Raises ``MissingColumnError`` for a column the function needs and the table lacks.
        """
        names = list(names)
        if self.attributes is not None:
            for name in self.attributes:
                if name not in names:
                    raise missing_column(name, names, where=self.where)
            return list(self.attributes)
        numeric = [name for name in numeric if name not in self.exclude]
        if self.reads.dynamic:
            return numeric + [n for n in names if n in self.reads.text and n not in numeric]
        for name, line in self.reads.required.items():
            if name not in names:
                raise missing_column(name, names, line=line, where=self.where)
        # A column read only with attrs.get(name, default) and absent or not numeric is left
        # out, as predict leaves it out: the function's default applies.
        text = [n for n in self.reads.text if n in names]
        return [n for n in self.reads.names
                if n in numeric or n in self.reads.required or n in text]

    def score(self, frame: pd.DataFrame, offset: int = 0) -> pd.Series:
        """Scores of every row of ``frame`` (index kept, name ``score``); ``offset`` is the
        position of its first row in the whole table, for error messages."""
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        columns = self.columns_for(frame.columns, numeric)
        columns, matrix = frame_matrix(frame, columns, self.where, text=self.reads.text)
        values = self.score_matrix(columns, matrix, offset)
        series = pd.Series(values, index=frame.index, name=SCORE, dtype=np.float64)
        series.attrs["score_mode"] = self.mode or ROWS
        return series

    def score_matrix(self, columns: list[str], matrix: np.ndarray, offset: int = 0) -> np.ndarray:
        """Scores of the rows of ``matrix`` (n x len(columns), float64)."""
        n = len(matrix)
        if n == 0:
            return np.empty(0, dtype=np.float64)
        positions = np.arange(offset, offset + n)
        with _one_worker(self.sandbox) as sandbox:
            if self.mode is None and n > self.sample_rows:
                with self._lock:  # the first big chunk decides; the others wait for it
                    if self.mode is None:
                        return self._decide(sandbox, columns, matrix, positions)
            if self.mode == COLUMNS:
                return self._by_columns(sandbox, columns, matrix, positions)
            return self._by_rows(sandbox, columns, matrix, positions)

    # -- the decision ------------------------------------------------------------------------
    def _decide(self, sandbox, columns, matrix, positions) -> np.ndarray:
        if not getattr(sandbox, "columns", False):
            self._settle(ROWS, "the sandbox has no column mode")
            return self._by_rows(sandbox, columns, matrix, positions)
        out = self._by_columns(sandbox, columns, matrix, positions, first=True)
        if out is None:
            return self._by_rows(sandbox, columns, matrix, positions)
        return out

    def _settle(self, mode: str, reason: str, say=log.info) -> None:
        self.mode, self.reason = mode, reason
        how = "by whole columns" if mode == COLUMNS else "row by row"
        say("scoring %s: %s", how, reason)

    # -- column mode -------------------------------------------------------------------------
    def _by_columns(self, sandbox, columns, matrix, positions, *, first=False):
        """Column results, with the row path's for every row that needs it. On the first chunk
        (``first``) None when column mode is unusable; a later chunk that fails goes row by row,
        and a later chunk that disagrees with its spot check sends the rest of the table too."""
        try:
            out, redo = self._column_pass(sandbox, columns, matrix)
        except SandboxError as exc:
            if first:
                self._settle(ROWS, f"the function does not run on whole columns ({exc})")
                return None
            log.info("rows from %d go row by row: column mode failed (%s)", positions[0], exc)
            return self._by_rows(sandbox, columns, matrix, positions)
        # Rows the column pass cannot vouch for: numpy flagged them (above), or an input or the
        # result is inf/NaN, where a float may raise or the two paths may part.
        redo |= ~np.isfinite(out) | ~np.isfinite(matrix).all(axis=1)
        disagreement = self._disagreement(sandbox, columns, matrix, out, redo,
                                          self.sample_rows if first else self.spot_rows)
        if disagreement:
            if first:
                self._settle(ROWS, disagreement)
                return None
            with self._lock:
                self._settle(ROWS, f"from row {positions[0]} on: {disagreement}", log.warning)
            return self._by_rows(sandbox, columns, matrix, positions)
        if first and not redo.all():  # (with every row redone nothing was checked: not yet)
            self._settle(COLUMNS, "the function runs on whole columns and agrees with the row path")
        bad = np.flatnonzero(redo)
        if len(bad):  # in table order, so the first error is the first row's, as in predict
            out[bad] = self._by_rows(sandbox, columns, matrix[bad], positions[bad],
                                     count="recomputed")
        with self._lock:
            self.counts[COLUMNS] += len(out) - len(bad)
        return out

    def _column_pass(self, sandbox, columns, matrix):
        """(values, rows to redo row by row). Where numpy raises FloatingPointError (a float
        would raise there, or give inf), the chunk is halved until the pieces that raise are at
        most ``split_rows`` rows; those are left to the row path. Other errors propagate."""
        out = np.full(len(matrix), np.nan)
        redo = np.zeros(len(matrix), dtype=bool)
        pieces = [(0, len(matrix))]
        while pieces:
            start, stop = pieces.pop()
            rows = Rows.pack(columns, matrix[start:stop])
            try:
                out[start:stop] = sandbox.evaluate_columns(self.source, rows)
            except SandboxError as exc:
                if not exc.reason.startswith("FloatingPointError"):
                    raise
                if stop - start <= self.split_rows:
                    redo[start:stop] = True
                else:
                    middle = (start + stop) // 2
                    pieces += [(start, middle), (middle, stop)]
            finally:
                sandbox.drop(rows)
        return out, redo

    def _disagreement(self, sandbox, columns, matrix, out, redo, size) -> str:
        """'' if the row path gives the same results on ``size`` rows spread over the chunk
        (among those not redone anyway)."""
        candidates = np.flatnonzero(~redo)
        if not len(candidates):
            return ""
        picks = np.linspace(0, len(candidates) - 1, min(size, len(candidates))).round()
        idx = candidates[np.unique(picks.astype(np.int64))]
        rows = Rows.pack(columns, matrix[idx])
        try:
            expected = sandbox.evaluate_packed(self.source, rows)
        except SandboxError as exc:
            # The row path fails on these rows: it will fail the same way on the whole chunk.
            return f"the row path fails on sampled rows ({exc})"
        finally:
            sandbox.drop(rows)
        if not np.allclose(out[idx], expected, rtol=_RTOL, atol=_ATOL, equal_nan=True):
            return "the column results differ from the row results on sampled rows"
        return ""

    # -- row mode ----------------------------------------------------------------------------
    def _by_rows(self, sandbox, columns, matrix, positions, count=ROWS) -> np.ndarray:
        # In batches: a worker holds the rows of a batch as Python dicts, which take far more
        # memory than the floats.
        out = np.empty(len(matrix), dtype=np.float64)
        for start in range(0, len(matrix), self.row_batch):
            stop = start + self.row_batch
            rows = Rows.pack(columns, matrix[start:stop])
            try:
                out[start:stop] = sandbox.evaluate_packed(self.source, rows)
            except SandboxError as exc:
                raise self._explain(exc, positions[start:stop], columns) from None
            finally:
                sandbox.drop(rows)
        with self._lock:
            self.counts[count] += len(matrix)
        return out

    def _explain(self, exc: SandboxError, positions, columns) -> Exception:
        """The error as the whole table's row path would give it: row numbers counted in the
        table, and a missing column named with the fix."""
        def renumber(match):
            return f"for row {positions[int(match.group(1))]}"

        reason = re.sub(r"for row (\d+)", renumber, exc.reason)
        missing = re.fullmatch(r"KeyError: '([^']*)'", reason)
        if missing and missing.group(1) not in columns:
            name = missing.group(1)
            reason += (f" - {self.where} has no column {name!r}; if the function reads it as an "
                       f"attribute, add that column or rename the matching one to {name!r}")
        if reason == exc.reason:
            return exc
        return type(exc)(reason, exc.line)


def frame_matrix(frame: pd.DataFrame, columns: list[str], where: str = "the table", *,
                 text=frozenset()) -> tuple[list[str], np.ndarray]:
    """(column names, float64 matrix) of ``frame[columns]`` for the sandbox: numbers as they are
    (missing as NaN); a column in ``text`` (those the function compares with text) as codes
    under a ``TextColumn`` name. Another column that holds text is an error naming it: the
    function reads it as a number."""
    texts = [name for name in columns if name in text]
    if not texts:
        return list(columns), numeric_matrix(frame, columns, where)
    names, matrix = list(columns), np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        if name in texts:
            names[j], matrix[:, j] = coded(name, frame[name])
        else:
            matrix[:, j] = numeric_matrix(frame, [name], where)[:, 0]
    return names, matrix


def numeric_matrix(frame: pd.DataFrame, columns: list[str], where: str = "the table"):
    """``frame[columns]`` as float64 (missing values as NaN); a column that holds text is a
    ``DatasetError`` naming it."""
    try:
        return frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        for name in columns:
            try:
                frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                kind = frame[name].dtype
                raise DatasetError(
                    f"column {name!r} in {where} is not numeric ({kind}); the function reads it "
                    "as a number: convert it, or leave it out of the attributes"
                ) from None
        raise


@contextlib.contextmanager
def _one_worker(sandbox):
    # A pool lends one worker for the whole chunk, so the calls for it go to the same process.
    if hasattr(sandbox, "borrowed"):
        with sandbox.borrowed() as one:
            yield one
    else:
        yield sandbox


def score_frame(function, frame: pd.DataFrame, attributes=None, *, sandbox=None,
                chunk_rows: int = 100_000) -> pd.Series:
    """``function``'s score of every row of ``frame`` (see ``ScoringFunction.score_frame``)."""
    scorer = FrameScorer(function, attributes, sandbox=sandbox)
    parts = [scorer.score(frame.iloc[start:start + chunk_rows], offset=start)
             for start in range(0, len(frame), chunk_rows)]
    if not parts:
        result = pd.Series([], index=frame.index, name=SCORE, dtype=np.float64)
    else:
        result = pd.concat(parts) if len(parts) > 1 else parts[0]
    result.attrs["score_mode"] = scorer.mode or ROWS
    return result
