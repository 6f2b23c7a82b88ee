"""The benchmark report's figures: rho by method and against fit-set size (PNG bytes, drawn with
the run report's helpers), and the held-out scatter, which a run's own page draws too."""

from __future__ import annotations

import numpy as np

from ..report.plots import new_figure, png_bytes, scatter
from .tables import size_label

__all__ = ["png_bytes", "rho_bars", "rho_by_size", "scatter"]


def rho_bars(dataset: str, groups: list[dict], methods: list[str], sizes: list) -> bytes:
    """Held-out rho by method, one bar per fit size, with the bootstrap interval as error bar."""
    fig = new_figure(max(5.0, 1.1 * len(methods) + 1.5), 4.2)
    ax = fig.add_subplot()
    cell = {(g["method"], g["fit_size"]): g for g in groups}
    width = 0.8 / len(sizes)
    x = np.arange(len(methods))
    for i, size in enumerate(sizes):
        entries = [cell.get((m, size), {}) for m in methods]
        means = np.array([_value(e, "mean") for e in entries])
        errors = np.array([[_value(e, "mean") - _value(e, "low") for e in entries],
                           [_value(e, "high") - _value(e, "mean") for e in entries]])
        rows = next((e.get("fit_rows") for e in entries if e), None)
        n = max((e.get("n") or 0 for e in entries), default=0)
        ax.bar(x + (i - (len(sizes) - 1) / 2) * width, means, width, yerr=np.nan_to_num(errors),
               capsize=3, label=f"fit rows {size_label(size, rows)} ({_seed_count(n)})")
    ax.set_xticks(x, methods, rotation=20)
    ax.set_ylabel("held-out Spearman rho")
    ax.set_ylim(min(0.0, np.nanmin([_value(g, "low") for g in groups] + [0.0]) - 0.05), 1.0)
    ax.axhline(0, color="black", linewidth=0.6)
    counts = {g.get("n") or 0 for g in groups} - {0}
    seeds = max(counts, default=0)
    what = ("one seed: no interval" if seeds <= 1 else
            f"bars: 95% bootstrap interval over {seeds} seeds" if len(counts) == 1 else
            "bars: 95% bootstrap interval over the seeds in the legend")
    ax.set_title(f"{dataset}: rho by method ({what})", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return png_bytes(fig)


def rho_by_size(dataset: str, groups: list[dict], methods: list[str], sizes: list) -> bytes:
    """Held-out rho against the number of fit rows, one line per method."""
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    for method in methods:
        points = sorted(((g["fit_rows"], g) for g in groups
                         if g["method"] == method and g["mean"] is not None
                         and g.get("fit_rows") is not None), key=lambda p: p[0])
        if not points:
            continue
        rows = np.array([p[0] for p in points], dtype=float)
        means = np.array([p[1]["mean"] for p in points])
        errors = np.array([[p[1]["mean"] - p[1]["low"] for p in points],
                           [p[1]["high"] - p[1]["mean"] for p in points]])
        ax.errorbar(rows, means, yerr=errors, marker="o", capsize=3, label=method)
    if len({g.get("fit_rows") for g in groups}) > 1:
        ax.set_xscale("log")
    ax.set_xlabel("fit rows (log scale)")
    ax.set_ylabel("held-out Spearman rho")
    ax.set_title(f"{dataset}: rho against fit-set size", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def _seed_count(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def _value(entry: dict, key: str) -> float:
    value = entry.get(key) if entry else None
    return float("nan") if value is None else float(value)
