"""Per dataset: which learned function the report shows, and its figures as PNG files.

The shown function is the compiled program's (else the uncompiled one's, else the seed method's)
for the first seed and the largest fit size. Its held-out outputs are recomputed here by running
the recorded source in the sandbox on the same task: cells never store held-out outputs, and a
recomputed rho that disagrees with the recorded one is said out loud in the caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import plots
from .tables import size_label

SHOWCASE_METHODS = ("compiled", "uncompiled", "seed")


@dataclass
class DatasetFigures:
    dataset: str
    seen: bool
    showcase: dict | None = None            # the record whose function is shown
    images: list[tuple[str, Path]] = field(default_factory=list)   # (caption, PNG file)
    notes: list[str] = field(default_factory=list)


def showcase_record(results, dataset: str) -> dict | None:
    """The record of the first LM method present: first seed, largest fit size (all = largest)."""
    seeds = results.config["seeds"]
    for method in SHOWCASE_METHODS:
        mine = [r for r in results.records if r["dataset"] == dataset and r["method"] == method]
        if mine:
            return min(mine, key=lambda r: (seeds.index(r["seed"]) if r["seed"] in seeds else 0,
                                            -(r["fit_size"] or float("inf"))))
    return None


def heldout_outputs(results, record):
    """(human scores, the function's scores) on the record's held-out rows, recomputed."""
    from ..data import load_dataset, make_task
    from ..sandbox import ScoringFunction

    spec = results.config.get("data", {}).get(record["dataset"]) or record["dataset"]
    task = make_task(load_dataset(spec), fit_size=record["fit_size"], seed=record["seed"])
    rows = task.heldout_rows
    return rows.y, ScoringFunction(record["source"]).predict(rows)


def dataset_figures(results, dataset: str, figures_dir: Path) -> DatasetFigures:
    from ..metrics import spearman

    figures_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)
    groups = [g for g in results.summary["groups"] if g["dataset"] == dataset]
    out = DatasetFigures(dataset, bool(groups and groups[0]["seen"]),
                         showcase_record(results, dataset))
    record = out.showcase
    if record is not None and record.get("source"):
        try:
            human, predicted = heldout_outputs(results, record)
            rho = spearman(predicted, human)
            title = (f"{dataset}: {record['method']}, seed {record['seed']}, fit rows "
                     f"{size_label(record['fit_size'], record.get('fit_rows'))}; "
                     f"held-out rho {rho:.3f}")
            if abs(rho - record["rho"]) > 1e-9:
                title += f" (recorded {record['rho']:.3f})"
            out.images.append((title, _save(figures_dir / f"{stem}_scatter.png",
                                            plots.scatter(human, predicted, title))))
        except Exception as exc:  # a moved data file must not cost the rest of the report
            out.notes.append(f"scatter not drawn: {type(exc).__name__}: {exc}")
    elif record is not None:
        out.notes.append(f"scatter not drawn: {record['method']} wrote no valid function for "
                         f"seed {record['seed']}")
    methods, sizes = results.config["methods"], results.config["fit_sizes"]
    bars = plots.rho_bars(dataset, groups, methods, sizes)
    lines = plots.rho_by_size(dataset, groups, methods, sizes)
    out.images.append((f"{dataset}: held-out rho by method",
                       _save(figures_dir / f"{stem}_rho_by_method.png", bars)))
    out.images.append((f"{dataset}: held-out rho against fit-set size",
                       _save(figures_dir / f"{stem}_rho_by_size.png", lines)))
    return out


def _save(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
