"""Held-out rows that repeat a fit row: where a held-out score can flatter a model that memorises.

Some public tables hold exact duplicates. In wine_quality 359 of the 1299 held-out rows have the
same eleven attribute values as a fit row (and 787 of the 5198 fit rows repeat another fit row),
so a tree ensemble that memorises (scikit-learn's HistGradientBoosting) ranks those rows at rho
0.84 and the rest at 0.61. The benchmark therefore reports rho on the held-out rows that are new
as well (``unseen_rho``), and cross-validation keeps duplicates in one fold
(``fitting.cv.duplicate_groups``).
"""

from __future__ import annotations

import numpy as np


def seen_in_fit(fit_rows, heldout_rows) -> np.ndarray:
    """One bool per held-out row: True when a fit row has exactly the same attribute values."""
    fit = np.ascontiguousarray(np.asarray(fit_rows.X, dtype=np.float64))
    held = np.ascontiguousarray(np.asarray(heldout_rows.X, dtype=np.float64))
    if fit.shape[1] != held.shape[1]:
        raise ValueError(f"the fit rows have {fit.shape[1]} attributes and the held-out rows "
                         f"{held.shape[1]}")
    if len(fit) == 0 or len(held) == 0:
        return np.zeros(len(held), dtype=bool)
    # Rows as byte strings: exact equality, and -0.0 counted as 0.0 the way == counts it.
    fit, held = fit + 0.0, held + 0.0
    known = {row.tobytes() for row in fit}
    return np.array([row.tobytes() in known for row in held], dtype=bool)
