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
    missing: dict[str, int] | None = None,
) -> str:
    """Rows, target spread, per-attribute statistics, strongest pairs and a few sample rows.

    Per attribute: min..max, mean, sd, Spearman rho with the target, and the target's mean in each
    quantile bin of the attribute (low to high), which shows a non-linear or non-monotone effect.
    ``missing`` (attribute -> rows without a value, before the gaps were filled) adds a line
    saying how often each attribute is missing.
    """
    with np.errstate(all="ignore"):  # values near the float limits: see _scale
        text = _profile(frame, list(attributes), target, n_bins, n_sample, seed, max_pairs)
    if missing:
        gaps = ", ".join(f"{name} {count} of {len(frame)} rows" for name, count in missing.items())
        text += ("\nmissing values (read as the fit-row median; a missing level as the "
                 f"reference level): {gaps}")
    return text


def _profile(frame, attributes, target, n_bins, n_sample, seed, max_pairs) -> str:
    n = len(frame)
    lines = [f"rows: {n}"]
    if n == 0:
        return lines[0]
    y = frame[target].to_numpy(dtype=np.float64)
    lines.append(f"target {target}: {_spread(y)}")
    lines.append(f"attributes: min..max, mean, sd; Spearman rho with {target}; "
                 f"mean {target} per attribute bin, low to high:")
    columns = {a: frame[a].to_numpy(dtype=np.float64) for a in attributes}
    # Each column is sorted once: its ranks serve the rho with the target and the pairs.
    ranked = {a: _ranks(x, with_distinct=True) for a, x in columns.items()}
    ranks = {a: r for a, (r, _) in ranked.items()}
    y_ranks = _ranks(y)
    for name, x in columns.items():
        rho = _rho_text(x, y, ranks[name], y_ranks)
        bins = _bins_text(x, y, n_bins, n_distinct=ranked[name][1])
        lines.append(f"- {name}: {_spread(x)}; rho {rho}; {bins}")
    pairs = _strongest_pairs(columns, max_pairs, ranks)
    if pairs:
        lines.append("strongest correlations between attributes (Spearman): " + ", ".join(pairs))
    lines.extend(_sample(frame, attributes, target, y, n_sample, seed))
    return "\n".join(lines)


def _scale(x: np.ndarray) -> float:
    """The largest magnitude in ``x`` (1 when it is 0 or not finite).

    Means, spreads and bin means are computed on ``x / _scale(x)`` and scaled back: summing or
    squaring values near 1e308 overflows to inf, and squaring values near 1e-300 underflows to 0,
    though every statistic shown is itself representable.
    """
    if not len(x):
        return 1.0
    m = max(abs(float(x.max())), abs(float(x.min())))
    return m if 0 < m < np.inf else 1.0


def _varies(x: np.ndarray) -> bool:
    """Not constant (``np.ptp(x) > 0`` overflows for -1e308..1e308)."""
    return len(x) > 1 and bool(x.max() > x.min())


def _spread(x: np.ndarray) -> str:
    s = _scale(x)
    xs = x / s
    sd = float(np.std(xs, ddof=1)) * s if len(x) > 1 else 0.0
    return f"{fmt(x.min())}..{fmt(x.max())}, mean {fmt(float(xs.mean()) * s)}, sd {fmt(sd)}"


def _group_means(y: np.ndarray, keys) -> pd.Series:
    """Mean of ``y`` per key, computed without overflow (see ``_scale``)."""
    s = _scale(y)
    return pd.Series(y / s).groupby(keys).mean() * s


def spearman_or_none(x: np.ndarray, y: np.ndarray, x_ranks=None, y_ranks=None) -> float | None:
    """Spearman rho, or None where it is undefined (a constant column, fewer than 2 rows).
    ``x_ranks`` / ``y_ranks``: the ranks, when the caller has them already."""
    if len(x) < 2 or not _varies(x) or not _varies(y):
        return None
    x_ranks = _ranks(x) if x_ranks is None else x_ranks
    y_ranks = _ranks(y) if y_ranks is None else y_ranks
    return float(np.corrcoef(x_ranks, y_ranks)[0, 1])


def _ranks(x: np.ndarray, with_distinct: bool = False):
    """Average ranks from 1 (ties share their mean rank), as Spearman rho needs; with
    ``with_distinct``, (ranks, number of distinct values). One sort; numpy spares importing
    scipy.stats (a second of start-up), and is several times faster than ``pandas.Series.rank`` on
    a million rows."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts, dtype=np.float64)  # the highest rank in each group of ties
    ranks = (upper - (counts - 1) / 2.0)[inverse.reshape(-1)]
    return (ranks, len(counts)) if with_distinct else ranks


def _rho_text(x: np.ndarray, y: np.ndarray, x_ranks=None, y_ranks=None) -> str:
    rho = spearman_or_none(x, y, x_ranks, y_ranks)
    return "n/a (constant)" if rho is None else f"{rho:.2f}"


def _bins_text(x: np.ndarray, y: np.ndarray, n_bins: int, n_distinct: int | None = None) -> str:
    """Target means by attribute value (few distinct values) or by quantile bin."""
    n_distinct = len(np.unique(x)) if n_distinct is None else n_distinct
    if n_distinct < 2 or len(x) < 4:
        return "bins n/a"
    if n_distinct <= n_bins:
        groups = _group_means(y, x)
        return "by value " + ", ".join(f"{fmt(v)}: {fmt(m)}" for v, m in groups.items())
    # About two rows per bin at least, so that a bin mean is not one row's value.
    q = min(n_bins, len(x) // 2)
    try:
        # Scaled, since quantile interpolation between -1e308 and 1e308 overflows; the order of
        # the values (all that equal-count bins depend on) is the same.
        codes = pd.qcut(x / _scale(x), q, labels=False, duplicates="drop")
    except ValueError:
        return "bins n/a"
    means = _group_means(y, codes)
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
            ys = y[mask]
            mean = float((ys / _scale(ys)).mean()) * _scale(ys)
            parts.append(f"{label} ({mask.mean():.0%} of rows): {fmt(mean)}")
    return "by value " + ", ".join(parts)


def _strongest_pairs(columns: dict[str, np.ndarray], max_pairs: int, ranks=None) -> list[str]:
    names = [a for a, x in columns.items() if _varies(x)]
    if len(names) < 2 or max_pairs <= 0:
        return []
    ranks = ranks or {}
    ranks = np.column_stack([ranks[a] if a in ranks else _ranks(columns[a]) for a in names])
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
