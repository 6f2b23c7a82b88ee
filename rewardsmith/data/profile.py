"""A compact text profile of a table, written for a language model to read.

The profile is computed only from the frame it is given (a task passes its fit rows), is
deterministic, and stays short: a small model reads prompts at tens of tokens per second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import fmt


def profile(
    frame: pd.DataFrame,
    attributes,
    target: str,
    *,
    n_bins: int = 5,
    n_sample: int = 8,
    seed: int = 0,
    max_pairs: int = 5,
) -> str:
    """Rows, target spread, per-attribute statistics, strongest pairs and a few sample rows.

    Per attribute: min..max, mean, sd, Spearman rho with the target, and the target's mean in each
    quantile bin of the attribute (low to high), which shows a non-linear or non-monotone effect.
    """
    attributes = list(attributes)
    n = len(frame)
    lines = [f"rows: {n}"]
    if n == 0:
        return lines[0]
    y = frame[target].to_numpy(dtype=np.float64)
    lines.append(f"target {target}: {_spread(y)}")
    lines.append(f"attributes: min..max, mean, sd; Spearman rho with {target}; "
                 f"mean {target} per attribute bin, low to high:")
    columns = {a: frame[a].to_numpy(dtype=np.float64) for a in attributes}
    for name, x in columns.items():
        lines.append(f"- {name}: {_spread(x)}; rho {_rho_text(x, y)}; {_bins_text(x, y, n_bins)}")
    pairs = _strongest_pairs(columns, max_pairs)
    if pairs:
        lines.append("strongest correlations between attributes (Spearman): " + ", ".join(pairs))
    lines.extend(_sample(frame, attributes, target, y, n_sample, seed))
    return "\n".join(lines)


def _spread(x: np.ndarray) -> str:
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return f"{fmt(x.min())}..{fmt(x.max())}, mean {fmt(x.mean())}, sd {fmt(sd)}"


def spearman_or_none(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman rho, or None where it is undefined (a constant column, fewer than 2 rows)."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman rho needs; pandas spares importing
    scipy.stats (a second of start-up) for this."""
    return pd.Series(x).rank(method="average").to_numpy()


def _rho_text(x: np.ndarray, y: np.ndarray) -> str:
    rho = spearman_or_none(x, y)
    return "n/a (constant)" if rho is None else f"{rho:.2f}"


def _bins_text(x: np.ndarray, y: np.ndarray, n_bins: int) -> str:
    """Target means by attribute value (few distinct values) or by quantile bin."""
    distinct = np.unique(x)
    if len(distinct) < 2 or len(x) < 4:
        return "bins n/a"
    if len(distinct) <= n_bins:
        groups = pd.Series(y).groupby(x).mean()
        return "by value " + ", ".join(f"{fmt(v)}: {fmt(m)}" for v, m in groups.items())
    # About two rows per bin at least, so that a bin mean is not one row's value.
    q = min(n_bins, len(x) // 2)
    try:
        codes = pd.qcut(x, q, labels=False, duplicates="drop")
    except ValueError:
        return "bins n/a"
    means = pd.Series(y).groupby(codes).mean()
    if len(means) >= 2:
        return f"{len(means)} bins " + " | ".join(fmt(m) for m in means)
    return _around_mode(x, y)


def _around_mode(x: np.ndarray, y: np.ndarray) -> str:
    """For a column dominated by one value (quantile bins collapse): below, at, above that value."""
    values, counts = np.unique(x, return_counts=True)
    mode = values[np.argmax(counts)]
    parts = []
    for label, mask in ((f"<{fmt(mode)}", x < mode), (f"={fmt(mode)}", x == mode),
                        (f">{fmt(mode)}", x > mode)):
        if mask.any():
            parts.append(f"{label} ({mask.mean():.0%} of rows): {fmt(y[mask].mean())}")
    return "by value " + ", ".join(parts)


def _strongest_pairs(columns: dict[str, np.ndarray], max_pairs: int) -> list[str]:
    names = [a for a, x in columns.items() if len(x) > 1 and np.ptp(x) > 0]
    if len(names) < 2 or max_pairs <= 0:
        return []
    ranks = np.column_stack([_ranks(columns[a]) for a in names])
    matrix = np.corrcoef(ranks, rowvar=False)
    found = [(abs(matrix[i, j]), i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    # Sort by strength; ties keep column order so the text is the same on every run.
    found.sort(key=lambda t: (-round(t[0], 12), t[1], t[2]))
    return [f"{names[i]}~{names[j]} {matrix[i, j]:.2f}" for _, i, j in found[:max_pairs]]


def _sample(frame, attributes, target, y, n_sample, seed) -> list[str]:
    """A few rows spread evenly over the target's range, as a small table."""
    n = len(frame)
    if n_sample <= 0:
        return []
    # A seeded shuffle before a stable sort breaks ties in the target at random but reproducibly.
    order = np.random.default_rng(seed).permutation(n)
    order = order[np.argsort(y[order], kind="stable")]
    picks = order[np.unique(np.linspace(0, n - 1, min(n_sample, n)).round().astype(int))]
    lines = [f"sample rows, sorted by {target} ({' '.join(attributes)} -> {target}):"]
    for i in picks:
        values = " ".join(fmt(frame[a].iloc[i]) for a in attributes)
        lines.append(f"{values} -> {fmt(y[i])}")
    return lines
