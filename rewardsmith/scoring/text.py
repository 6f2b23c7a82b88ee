"""Text attributes on their way to the sandbox: codes into a column's levels.

The sandbox moves float64 matrices. A text column travels as codes (0, 1, ...; NaN where the
value is missing) under a ``TextColumn`` name that carries its levels, and the worker hands
``score`` the text itself (None where missing), per row and by columns alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sandbox.runner import TextColumn


def is_text(series: pd.Series) -> bool:
    """Values ``score`` receives as text: neither numbers nor booleans (nor all missing)."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return False
    present = series.dropna()
    return len(present) > 0 and not all(isinstance(v, (int, float, bool, np.number))
                                        for v in present)


def coded(name: str, values) -> tuple[TextColumn, np.ndarray]:
    """(the column's name with its levels, float64 codes with NaN for missing values)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    series = series.map(lambda v: v if v is None or (isinstance(v, float) and v != v)
                        else str(v), na_action="ignore")
    codes, levels = pd.factorize(series, use_na_sentinel=True)
    out = codes.astype(np.float64)
    out[codes < 0] = np.nan
    return TextColumn(name, [str(level) for level in levels]), out
