"""The numbers a reader takes away: means over seeds with bootstrap intervals, the headline on
unseen datasets only, the linear bar per unseen dataset and size, paired comparisons, and the
same means on the held-out rows that repeat no fit row where some do (``data/overlap.py``).

Every interval resamples per-seed values (numpy ``default_rng(0)``, 2000 resamples, percentiles
2.5 and 97.5), so the same records always give the same summary. With one seed the interval is
the point itself: there is nothing to resample. Few seeds give narrow, optimistic intervals; the
count is reported beside each one, and a comparison needs ``MIN_SEEDS_TO_CLAIM`` seeds to claim
a difference.

A benchmark stopped by its time limit leaves cells unrun. A seed counts at a fit size only once
every dataset and method finished it, so each mean compares methods on the same tasks; the
headline and the comparisons use only the fit sizes that every seed finished.
"""

from __future__ import annotations

import numpy as np

from .methods import LINEAR_METHODS

RESAMPLES = 2000
#: A comparison claims a difference only with this many seeds: resampling one or two per-seed
#: values gives an interval that is only their range.
MIN_SEEDS_TO_CLAIM = 3


def bootstrap_interval(values) -> dict:
    """Mean of ``values`` and its 95% percentile-bootstrap interval: {mean, low, high, n}."""
    values = np.asarray(list(values), dtype=np.float64)
    if len(values) == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(values.mean())
    if len(values) == 1:
        return {"mean": mean, "low": mean, "high": mean, "n": 1}
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": mean, "low": float(low), "high": float(high), "n": len(values)}


def summarize(records: list[dict], config: dict) -> dict:
    datasets, methods = config["datasets"], config["methods"]
    sizes, seeds = config["fit_sizes"], config["seeds"]
    rho = {(r["dataset"], r["method"], r["fit_size"], r["seed"]): r["rho"] for r in records}
    unseen_rho = {(r["dataset"], r["method"], r["fit_size"], r["seed"]): r.get("unseen_rho")
                  for r in records}
    seen = {r["dataset"]: r["seen"] for r in records}
    unseen = [d for d in datasets if not seen.get(d, False)]
    seeds_done = {f: [s for s in seeds if all((d, m, f, s) in rho for d in datasets
                                              for m in methods)] for f in sizes}
    complete = [f for f in sizes if len(seeds_done[f]) == len(seeds)]

    def per_seed(data, method, fit_sizes, versus=None, scores=rho) -> list[float]:
        """For each seed, the mean over (dataset, size) cells of rho (or of rho - versus's rho);
        ``scores=unseen_rho`` for the held-out rows that repeat no fit row."""
        values = []
        for seed in seeds:
            cells = []
            for d in data:
                for f in fit_sizes:
                    if seed not in seeds_done[f]:
                        continue
                    a = scores.get((d, method, f, seed))
                    b = scores.get((d, versus, f, seed)) if versus else 0.0
                    if a is not None and b is not None:
                        cells.append(a - b)
            if cells:
                values.append(float(np.mean(cells)))
        return values

    groups = [
        {"dataset": d, "seen": seen.get(d, False), "method": m, "fit_size": f,
         "fit_rows": _fit_rows(records, d, f), **bootstrap_interval(per_seed([d], m, [f]))}
        for d in datasets for f in sizes for m in methods
    ]
    # Where held-out rows repeat fit rows, the same means on the rows that repeat none.
    repeats = {(d, f): _repeats(records, d, f) for d in datasets for f in sizes}
    unseen_groups = [
        {"dataset": d, "method": m, "fit_size": f, "fit_rows": _fit_rows(records, d, f),
         **repeats[(d, f)], **bootstrap_interval(per_seed([d], m, [f], scores=unseen_rho))}
        for d in datasets for f in sizes if repeats[(d, f)]["heldout_seen"]
        for m in methods
    ]
    headline = [{"method": m, **bootstrap_interval(per_seed(unseen, m, complete))}
                for m in methods] if unseen and complete else []
    by_size = [{"method": m, "fit_size": f, **bootstrap_interval(per_seed(unseen, m, [f]))}
               for f in sizes for m in methods] if unseen else []
    comparisons = [
        {"method": "compiled", "versus": other,
         **bootstrap_interval(per_seed(unseen, "compiled", complete, versus=other))}
        for other in ("uncompiled", "seed")
        if unseen and complete and {"compiled", other} <= set(methods)
    ]
    for c in comparisons:
        # One seed gives a zero-width interval, two only their range: neither shows a
        # difference beyond chance.
        c["beyond_interval"] = (c["n"] >= MIN_SEEDS_TO_CLAIM and c["low"] is not None
                                and c["low"] > 0)
    return {
        "unseen_datasets": unseen,
        "seeds_by_fit_size": [{"fit_size": f, "seeds": seeds_done[f]} for f in sizes],
        "headline_fit_sizes": complete,
        "missing_cells": len(datasets) * len(methods) * len(sizes) * len(seeds) - len(rho),
        "seen_datasets": [d for d in datasets if d not in unseen],
        "groups": groups,
        "unseen_groups": unseen_groups,
        "headline": headline,
        "headline_by_fit_size": by_size,
        "linear_bar": _linear_bar(groups, unseen, sizes, methods),
        "comparisons": comparisons,
        "costs": [_costs(records, m) for m in methods],
    }


def _fit_rows(records, dataset, fit_size) -> int | None:
    rows = [r.get("fit_rows") for r in records
            if r["dataset"] == dataset and r["fit_size"] == fit_size]
    return rows[0] if rows else None


def _repeats(records, dataset, fit_size) -> dict:
    """How many held-out rows repeat a fit row's attributes (the most over seeds)."""
    mine = [r for r in records if r["dataset"] == dataset and r["fit_size"] == fit_size]
    return {"heldout_seen": max((r.get("heldout_seen") or 0 for r in mine), default=0),
            "heldout_rows": max((r.get("heldout_rows") or 0 for r in mine), default=0)}


def _linear_bar(groups, unseen, sizes, methods) -> list[dict]:
    """Per unseen dataset and size: the strongest linear baseline; does the program reach it?
    The program is ``compiled``, else ``prior`` (the program without writing)."""
    program = next((m for m in ("compiled", "prior") if m in methods), None)
    if program is None or not set(LINEAR_METHODS) & set(methods):
        return []
    mean = {(g["dataset"], g["method"], g["fit_size"]): g["mean"] for g in groups}
    rows = []
    for d in unseen:
        for f in sizes:
            linear = [(mean[(d, m, f)], m) for m in LINEAR_METHODS
                      if m in methods and mean.get((d, m, f)) is not None]
            ours = mean.get((d, program, f))
            if not linear or ours is None:
                continue
            best_rho, best = max(linear)
            rows.append({"dataset": d, "fit_size": f, "baseline": best, "baseline_rho": best_rho,
                         "method": program, "program_rho": ours, "reached": ours >= best_rho})
    return rows


def _costs(records, method) -> dict:
    mine = [r for r in records if r["method"] == method]

    def mean(key):
        values = [r[key] for r in mine if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    failed = sum(1 for r in mine if r.get("error") or r["rho"] <= -1.0)
    return {"method": method, "cells": len(mine), "failed": failed,
            "complexity": mean("complexity"), "lm_calls": mean("lm_calls"),
            "tokens": mean("tokens"), "wall_s": mean("wall_s")}
