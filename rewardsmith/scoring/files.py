"""``score_file``: score every row of a CSV/TSV or Parquet file into a new file, in bounded memory.

The input is read in chunks of ``chunk_rows`` rows, each chunk is scored in the sandbox
(``FrameScorer``: by whole columns where the function allows it) and written at once to a temporary
file beside the output, which is renamed at the end: an error or Ctrl-C leaves no output file. Up to
``workers`` chunks are scored at once, each by its own sandbox worker, while this process reads and
writes the others.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..data.dataset import DatasetError
from ..files import atomic_path
from ..sandbox.pool import SandboxPool, default_workers
from .frame import ROWS, FrameScorer
from .tables import ChunkWriter, TableSource, float_matrix, is_numeric, table_format


@dataclass
class ScoreFileResult:
    """What ``score_file`` did: rows written, and how they were scored (``mode``, ``reason``,
    ``counts`` as in ``FrameScorer``)."""

    path: Path
    rows: int
    mode: str
    reason: str
    attributes: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        how = "by whole columns" if self.mode != ROWS else "row by row"
        redone = self.counts.get("recomputed", 0)
        extra = f"; {redone:,} rows recomputed row by row" if redone else ""
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 else ""
        return (f"wrote {self.rows:,} scores to {self.path} ({how}{extra}; "
                f"{self.seconds:.2f} s{rate})")


def score_file(function, source, out, *, chunk_rows: int = 100_000, id_column: str | None = None,
               only_score: bool = False, score_column: str = "score",
               attributes: list[str] | None = None, workers: int | None = None,
               progress: bool = False, sandbox=None) -> ScoreFileResult:
    """Score every row of ``source`` (.csv, .tsv, .parquet) with ``function`` into ``out``.

    ``out`` holds the input's columns plus ``score_column``, or with ``only_score`` just
    ``id_column`` (if given) and the score, in input order. ``attributes``: the columns passed to
    the function (default: the columns it reads, or every numeric column but ``id_column`` when it
    loops over ``attrs``). ``workers``: chunks scored at once (default: one per CPU); ``sandbox``:
    a ``Sandbox``/``SandboxPool`` to use instead of a new column-mode pool of ``workers`` workers.
    Bad input raises ``DatasetError`` (``MissingColumnError`` for a column the function reads)
    before any output exists.
    """
    started = time.perf_counter()
    source, out = Path(source), Path(out)
    out_kind = table_format(out)
    table = TableSource(source)
    if out.resolve() == source.resolve():
        raise DatasetError(f"the output {out} is the input file; write the scores elsewhere")
    names = table.names
    if id_column is not None and id_column not in names:
        raise DatasetError(f"{source.name} has no column {id_column!r} (the id column); columns: "
                           + ", ".join(names))
    if not only_score and score_column in names:
        raise DatasetError(f"{source.name} already has a column {score_column!r}; choose another "
                           "name for the score column")
    workers = workers or default_workers()
    own_pool = SandboxPool(workers=workers, columns=True) if sandbox is None else None
    scorer = FrameScorer(function, attributes, sandbox=sandbox or own_pool,
                         exclude=[id_column] if id_column else [], where=source.name)
    numeric = table.numeric_columns()
    columns = scorer.columns_for(names, numeric)
    # Text: what the function compares with text (attrs["colour"] == "red"); every other
    # column is read as numbers, and a value that is not one is an error naming it.
    # A column it is given but never reads by name (a named attribute it left out) is read as
    # it is typed, text included.
    text = [c for c in columns if c in scorer.reads.text
            or (c not in scorer.reads.names and c not in numeric)]
    as_float = [c for c in columns if c not in text]
    _check_types(table, as_float)
    keep = ([id_column] if id_column else []) if only_score else names
    read = list(dict.fromkeys(keep + columns))
    schema = table.read_schema(keep, as_float=as_float).remove_metadata()
    schema = schema.append(pa.field(score_column, pa.float64()))

    def score(item):
        offset, chunk = item
        return scorer.score_matrix(*float_matrix(chunk, columns, source.name, text), offset)

    rows = 0
    with contextlib.ExitStack() as stack:
        if own_pool is not None:
            stack.enter_context(own_pool)  # closed last: kills its workers, whatever happened
        bar = stack.enter_context(_progress(progress, table.num_rows))
        tmp = stack.enter_context(atomic_path(out))
        writer = stack.enter_context(ChunkWriter(tmp, out_kind, schema))
        chunks = table.chunks(chunk_rows, columns=read, as_float=as_float)
        results = stack.enter_context(contextlib.closing(_in_order(chunks, score, workers)))
        for (_, chunk), values in results:
            part = chunk.select(keep).append_column(score_column, pa.array(values, pa.float64()))
            writer.write(part)
            rows += chunk.num_rows
            bar.update(chunk.num_rows)
    return ScoreFileResult(out, rows, scorer.mode or ROWS, scorer.reason or "few rows", columns,
                           dict(scorer.counts), time.perf_counter() - started)


def _check_types(table: TableSource, columns: list[str]) -> None:
    if table.format != "parquet":
        return  # CSV attribute columns are read as numbers; a bad value is reported then
    for name in columns:
        kind = table.schema.field(name).type
        if not (is_numeric(kind) or pa.types.is_null(kind)):
            raise DatasetError(f"column {name!r} in {table.path.name} is {kind}, not numbers; the "
                               "function reads it as a number")


def _in_order(chunks, score, workers: int):
    """(chunk, scores) in input order, with up to ``workers`` chunks being scored at once. The
    first chunk is scored alone: it decides between column and row mode for all."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    yield first, score(first)
    if workers == 1:
        for chunk in chunks:
            yield chunk, score(chunk)
        return
    pending: deque = deque()
    executor = ThreadPoolExecutor(workers, thread_name_prefix="rewardsmith-score")
    try:
        for chunk in chunks:
            pending.append((chunk, executor.submit(score, chunk)))
            if len(pending) > workers:  # bounded memory: read ahead no further
                chunk, future = pending.popleft()
                yield chunk, future.result()
        while pending:
            chunk, future = pending.popleft()
            yield chunk, future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _progress(enabled: bool, total: int | None):
    if not enabled:
        yield _NoBar()
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    # Log lines (the column/row decision) are printed above the bar, not through it.
    with logging_redirect_tqdm(loggers=[logging.getLogger("rewardsmith")]), \
            tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, desc="scoring",
                 dynamic_ncols=True) as bar:
        yield bar


class _NoBar:
    def update(self, n: int) -> None:
        pass
