"""Scoring a Dask DataFrame (``pip install 'rewardsmith[dask]'``).

The ``ScoringFunction`` travels to the Dask workers as its source text (it pickles without its
sandbox); each worker process scores its partitions with ``score_frame`` in a sandbox of its own,
so the LLM-written code never runs in a Dask worker process itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def score_dask(function, ddf, attributes: list[str] | None = None, *, name: str = "score"):
    """A lazy Dask Series: ``function``'s score of every row of ``ddf``, aligned with its index.

    ``attributes`` as for ``ScoringFunction.score_frame``. Compute it, or assign it as a column
    (``ddf.assign(score=score_dask(fn, ddf))``).
    """
    meta = pd.Series([], dtype=np.float64, name=name)
    return ddf.map_partitions(score_partition, function, attributes, name, meta=meta)


def score_partition(part: pd.DataFrame, function, attributes=None, name: str = "score"):
    """One partition's scores; what each Dask worker runs (also usable with Spark or Ray)."""
    return function.score_frame(part, attributes).rename(name)
