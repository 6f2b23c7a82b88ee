"""RowTable: how a task's rows travel with a ``dspy.Example`` without ever reaching a prompt."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.text import coded, is_text
from .dataset import DatasetError, group_codes


class RowTable:
    """Rows of one table (id, attributes, target) for running and scoring candidate functions.

    DSPy renders an Example's fields into prompts with ``str``/``repr``; both show only the shape
    here, so a table that is passed by mistake leaks no values. The table is read-only by
    convention (``X`` and ``y`` are read-only arrays), which makes ``copy``/``deepcopy`` returning
    ``self`` safe and cheap: DSPy copies examples and programs, and a copy of 10,000 rows per copy
    would be pure waste. Pickling works as usual.
    """

    def __init__(self, frame: pd.DataFrame, attributes, target: str, id_column: str | None = None,
                 group_column: str | None = None):
        attributes = tuple(attributes)
        wanted = ([id_column] if id_column is not None else []) + [*attributes, target]
        wanted += [group_column] if group_column is not None else []
        missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
        if missing:
            raise DatasetError(f"RowTable: columns {missing} are not in the frame; pass a frame "
                               "that holds the id, every attribute and the target")
        self._frame = frame[list(dict.fromkeys(wanted))].reset_index(drop=True)
        self.attributes = attributes
        self.target = target
        self.id_column = id_column
        self.group_column = group_column
        self.columns = list(attributes)  # the names for the sandbox: text ones carry levels
        matrix = np.empty((len(self._frame), len(attributes)), dtype=np.float64)
        for j, name in enumerate(attributes):
            values = self._frame[name]
            if values.dtype == object and is_text(values):
                # A table's raw rows (``rewardsmith check`` on a table with text attributes):
                # codes, as the sandbox takes text. A task's rows are numbers throughout.
                self.columns[j], matrix[:, j] = coded(name, values)
            else:
                matrix[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        self._X = _read_only(matrix)
        self._y = _read_only(self._frame[target].to_numpy(dtype=np.float64))

    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the rows (id, attributes, target): changing it does not change the table."""
        return self._frame.copy()

    @property
    def X(self) -> np.ndarray:
        """Attribute values, float64, shape (rows, attributes), columns in ``attributes`` order."""
        return self._X

    @property
    def y(self) -> np.ndarray:
        """Target values, float64, shape (rows,)."""
        return self._y

    @property
    def groups(self) -> np.ndarray | None:
        """A label per row for rows that belong together (one subject's several judgments), or
        None. Cross-validation keeps a group in one fold, as the held-out cut does."""
        if self.group_column is None:
            return None
        return group_codes(self._frame[self.group_column])

    @property
    def ids(self) -> list:
        """Row ids (the id column's values, or row numbers when there is none)."""
        if self.id_column is None:
            return list(range(len(self)))
        return self._frame[self.id_column].tolist()

    def __len__(self) -> int:
        return len(self._frame)

    def records(self) -> list[dict[str, float]]:
        """One ``{attribute: value}`` dict per row: what ``score(attrs)`` receives."""
        return [dict(zip(self.attributes, map(float, row), strict=True)) for row in self._X]

    def subset(self, positions) -> RowTable:
        """A RowTable of the rows at ``positions`` (integer positions or a boolean mask)."""
        positions = np.asarray(positions)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        return RowTable(self._frame.iloc[positions], self.attributes, self.target, self.id_column,
                        self.group_column)

    def __repr__(self) -> str:
        return f"<RowTable {len(self)} rows x {len(self.attributes)} attributes>"

    __str__ = __repr__

    def __copy__(self) -> RowTable:
        return self

    def __deepcopy__(self, memo) -> RowTable:
        return self


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array
