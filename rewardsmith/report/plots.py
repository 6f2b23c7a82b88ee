"""The figures of one run, drawn with matplotlib's Agg canvas (no display, no pyplot state shared
with the caller) and returned as PNG bytes: the held-out scatter and the function along each
attribute. The benchmark's report draws its own figures with the same helpers."""

from __future__ import annotations

import io
import math

import numpy as np


def new_figure(width: float = 6.4, height: float = 4.2):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("the report draws its figures with matplotlib: pip install "
                          "'rewardsmith[report]'") from exc

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def scatter(human, predicted, title: str) -> bytes:
    """Human score against the learned function's score on held-out rows (the seed's figure)."""
    fig = new_figure(5.6, 4.4)
    ax = fig.add_subplot()
    alpha = 0.8 if len(human) <= 200 else 0.35
    ax.scatter(predicted, human, s=18, alpha=alpha, color="#3465a4", edgecolors="none")
    ax.set_xlabel("learned function's score")
    ax.set_ylabel("human score")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def dependence(curves: dict[str, tuple], columns: int = 3, levels=None) -> bytes:
    """One small panel per attribute: the mean score as the attribute moves (a partial-dependence
    line), with the fit rows' values as ticks along the bottom. ``curves`` maps an attribute to
    ``(grid, mean_scores, fit_values)``. The panels share one score scale, so a steeper line is
    an attribute that moves the score more. ``levels`` names the places of ordered attributes
    (attribute -> its levels in order), read on their axis instead of 0, 1, 2, ..."""
    levels = levels or {}
    names = list(curves)
    columns = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / columns)
    fig = new_figure(3.2 * columns, 2.5 * rows)
    low = min(float(np.min(curves[n][1])) for n in names)
    high = max(float(np.max(curves[n][1])) for n in names)
    pad = 0.05 * (high - low) or 0.5
    for i, name in enumerate(names):
        grid, means, values = curves[name]
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.plot(grid, means, color="#3465a4", linewidth=1.8)
        ax.set_ylim(low - 2 * pad, high + pad)
        ax.plot(values, np.full(len(values), low - pad), "|", color="#888", markersize=6,
                alpha=0.5)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        if name in levels:
            level_axis(ax, levels[name])
        ax.grid(alpha=0.3)
        if i % columns == 0:
            ax.set_ylabel("mean score", fontsize=8)
    return png_bytes(fig)


def level_axis(ax, levels) -> None:
    """An ordered attribute's axis: its levels at their places 0, 1, 2, ..."""
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels(levels, rotation=30, ha="right", fontsize=6)


def front(points: list[dict], title: str) -> bytes:
    """The selected terms' front: CV rho against the number of terms, one standard error as a
    bar, the point the one-standard-error rule chose marked (PySR's complexity front)."""
    fig = new_figure(5.6, 3.6)
    ax = fig.add_subplot()
    sizes = [p["terms"] for p in points]
    rhos = [p["cv_rho"] for p in points]
    ax.errorbar(sizes, rhos, yerr=[p["cv_se"] for p in points], fmt="o-", ms=3, lw=1,
                color="#3465a4", ecolor="#9db3d4", capsize=2)
    chosen = [p for p in points if p["chosen"]]
    if chosen:
        ax.plot([chosen[0]["terms"]], [chosen[0]["cv_rho"]], "o", ms=9, mfc="none",
                mec="#cc0000", mew=2, label=f"chosen: {chosen[0]['terms']} terms")
        ax.axhline(max(rhos) - points[rhos.index(max(rhos))]["cv_se"], color="#888888",
                   lw=0.8, ls="--", label="best less one standard error")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("terms")
    ax.set_ylabel("CV rho of the search")
    ax.set_title(title, fontsize=10)
    return png_bytes(fig)
