"""Reading and writing a table in chunks with pyarrow: CSV/TSV and Parquet, by file extension.

Memory stays bounded by the chunk size, whatever the file's. CSV column types are guessed from the
first block (16 MiB) and then held for the whole file, with the attribute columns read as float64;
a later value that does not fit is one ``DatasetError`` naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..data.dataset import DatasetError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_CSV_BLOCK_BYTES = 16 << 20


def table_format(path: Path) -> str:
    """'csv', 'tsv' or 'parquet', from the file name."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise DatasetError(f"cannot tell the format of {Path(path).name!r}: name it .csv, .tsv or "
                           ".parquet")
    return kind


def is_numeric(kind: pa.DataType) -> bool:
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind) or pa.types.is_decimal(kind))


class TableSource:
    """A CSV/TSV or Parquet file to read in chunks: ``schema``, ``num_rows`` (None for CSV, which
    has no row count until read) and ``chunks``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.format = table_format(self.path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such file: {self.path}")
        try:
            if self.format == "parquet":
                with pq.ParquetFile(self.path) as handle:
                    self.schema = handle.schema_arrow
                    self.num_rows: int | None = handle.metadata.num_rows
            else:
                reader = self._open_csv(None, None)
                self.schema = reader.schema
                reader.close()
                self.num_rows = None
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise DatasetError(f"cannot read {self.path.name}: {exc}") from None

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)

    def numeric_columns(self) -> list[str]:
        return [f.name for f in self.schema if is_numeric(f.type)]

    def chunks(self, chunk_rows: int, columns: list[str] | None = None,
               as_float: list[str] = ()) -> Iterator[tuple[int, pa.Table]]:
        """(position of the first row, table of up to ``chunk_rows`` rows), in order. Only
        ``columns`` are read (default: all); for CSV, ``as_float`` columns are read as float64."""
        try:  # the CSV reader converts its first block when it opens
            if self.format == "parquet":
                handle = pq.ParquetFile(self.path)
                batches = handle.iter_batches(batch_size=chunk_rows, columns=columns)
            else:
                handle = batches = self._open_csv(columns, as_float)
        except pa.ArrowInvalid as exc:
            raise DatasetError(self._explain(exc, as_float)) from None
        offset = 0
        try:
            for table in _rechunk(self._checked(batches, as_float), chunk_rows):
                yield offset, table
                offset += table.num_rows
        finally:
            handle.close()

    def read_schema(self, columns: list[str] | None = None, as_float: list[str] = ()):
        """The schema of the tables ``chunks`` yields (without the file's metadata)."""
        if self.format == "parquet":
            return pa.schema([self.schema.field(name) for name in columns or self.names])
        types = self._types(as_float)
        return pa.schema([pa.field(name, types[name]) for name in columns or self.names])

    # -- internals ---------------------------------------------------------------------------
    def _types(self, as_float):
        # Hold the first block's types for the whole file; a column empty there is text.
        types = {f.name: pa.string() if pa.types.is_null(f.type) else f.type for f in self.schema}
        types.update({name: pa.float64() for name in as_float})
        return types

    def _open_csv(self, columns, as_float):
        convert = pcsv.ConvertOptions()
        if as_float is not None:
            convert = pcsv.ConvertOptions(column_types=self._types(as_float),
                                          include_columns=columns)
        return pcsv.open_csv(
            self.path, read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(delimiter="\t" if self.format == "tsv" else ","),
            convert_options=convert)

    def _checked(self, batches, as_float):
        try:
            yield from batches
        except pa.ArrowInvalid as exc:
            raise DatasetError(self._explain(exc, as_float)) from None

    def _explain(self, exc: Exception, as_float=()) -> str:
        text = str(exc).strip().replace("\n", " ")
        match = re.search(r"column #(\d+)", text)
        if match and int(match.group(1)) < len(self.schema.names):
            name = self.schema.names[int(match.group(1))]
            if name in as_float:
                return (f"{self.path.name}: column {name!r} holds a value that is not a number "
                        f"({text}); the function reads it as a number: fix or remove the value")
            return (f"{self.path.name}: column {name!r} holds a value that does not fit the type "
                    f"of its first rows ({text}); fix the value or convert the file to Parquet "
                    "with explicit types")
        return f"cannot read {self.path.name}: {text}"


def _rechunk(batches, size: int) -> Iterator[pa.Table]:
    """Tables of exactly ``size`` rows (the last one fewer), whatever the batches' sizes."""
    buffer: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(size - count, batch.num_rows)
            buffer.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == size:
                yield pa.Table.from_batches(buffer)
                buffer, count = [], 0
    if count:
        yield pa.Table.from_batches(buffer)


def float_matrix(table: pa.Table, columns: list[str], where: str, text=()
                 ) -> tuple[list, np.ndarray]:
    """(names, ``columns`` of ``table`` as an n x k float64 matrix, nulls as NaN); a column in
    ``text`` is coded (its name a ``TextColumn`` with the chunk's levels)."""
    from .text import coded

    names = list(columns)
    matrix = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        column = table.column(name)
        if name in text:
            names[j], matrix[:, j] = coded(name, column.to_pandas())
            continue
        try:
            matrix[:, j] = pc.cast(column, pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DatasetError(f"column {name!r} in {where} is not numeric ({column.type}): "
                               f"{exc}; the function reads it as a number") from None
    return names, matrix


class ChunkWriter:
    """Writes tables of one schema to a CSV/TSV or Parquet file, chunk by chunk."""

    def __init__(self, path: Path, kind: str, schema: pa.Schema):
        if kind == "parquet":
            self._writer = pq.ParquetWriter(path, schema)
        else:
            options = pcsv.WriteOptions(delimiter="\t" if kind == "tsv" else ",")
            self._writer = pcsv.CSVWriter(path, schema, write_options=options)
        self.schema = schema

    def write(self, table: pa.Table) -> None:
        if not table.schema.equals(self.schema):  # e.g. the input file's metadata
            table = table.cast(self.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
