"""Gold priors: each attribute's direction and importance, measured on all of a table's rows.

Only ``train`` and ``validation`` tables get one (the builder never computes it for ``unseen``
tables). A direction is stated where the rank correlation's 95% interval excludes zero, else
"none"; importance comes from the size of the effect (|rho| at least 0.3: 3, at least 0.1: 2,
else 1). The interval is Fisher's z with the Spearman standard error of Fieller, Hartley and
Pearson (1957), ``1.06 / sqrt(n - 3)``. The rho is kept too: the dense metric of the prior step
weights each attribute by it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: |rho| at or above which an attribute is importance 3, and 2 (below the second: 1).
IMPORTANCE_CUTS = (0.3, 0.1)
Z_95 = 1.959964


def direction_of(rho: float, n: int) -> str:
    """"higher"/"lower" when the 95% interval of ``rho`` on ``n`` rows excludes zero, else
    "none"."""
    if not math.isfinite(rho) or n < 4 or abs(rho) >= 1:
        return "none" if not math.isfinite(rho) or rho == 0 else ("higher" if rho > 0 else "lower")
    half = Z_95 * 1.06 / math.sqrt(n - 3)
    z = math.atanh(rho)
    if z - half > 0:
        return "higher"
    if z + half < 0:
        return "lower"
    return "none"


def importance_of(rho: float) -> int:
    size = abs(rho) if math.isfinite(rho) else 0.0
    return 3 if size >= IMPORTANCE_CUTS[0] else 2 if size >= IMPORTANCE_CUTS[1] else 1


def gold_prior(columns: dict[str, np.ndarray], y: np.ndarray) -> dict[str, dict]:
    """``{attribute: {"direction", "importance", "rho"}}`` from every row of a table (``y``
    oriented so that higher is better)."""
    gold = {}
    for name, x in columns.items():
        if np.ptp(x) == 0:
            rho = float("nan")
        else:
            rho = float(stats.spearmanr(x, y).statistic)
        gold[name] = {"direction": direction_of(rho, len(y)), "importance": importance_of(rho),
                      "rho": round(rho, 4) if math.isfinite(rho) else 0.0}
    return gold
