"""run_bench: every dataset x fit size x seed x method cell, resumable, behind a progress bar.

A cell's task comes from ``make_task(dataset, fit_size, seed)``: the seed picks the random cut
(for tables without an official split) and the fit sub-sample, so every method in a row of the
table sees the same fit rows and is scored on the same held-out rows. Each finished cell goes to
``cells.jsonl`` at once; on a rerun with the same output folder finished cells are read back, not
recomputed, unless the program file or the LM changed (a cell records what it ran with).

Cells run seed by seed (every dataset and fit size for seed 0, then seed 1, ...), so a benchmark
stopped by ``max_minutes`` has results for every dataset and size rather than for the first few.
"""

from __future__ import annotations

import hashlib
import logging
import math
import numbers
import sys
import time
from pathlib import Path

from .. import __version__
from ..metrics.spearman import heldout_scores
from .cells import CellLog
from .errors import BenchError
from .methods import (
    LM_METHODS,
    METHODS,
    REVISIONS,
    RUNNERS,
    interpret_available,
    sklearn_available,
)
from .results import BenchResults
from .summary import summarize

logger = logging.getLogger(__name__)

_clock = time.monotonic  # the time limit's clock; a test replaces it to control time


def run_bench(datasets, methods, fit_sizes, seeds, *, program_path=None, compile_datasets=None,
              out_dir, resume: bool = True, progress: bool = True,
              max_minutes: float | None = None) -> BenchResults:
    """Run the benchmark and write ``cells.jsonl``, ``results.json`` and ``results.md``.

    ``max_minutes`` stops starting new cells after that long (a cell already running finishes);
    the results then cover the finished cells and say how many are missing.

    ``compile_datasets`` names the datasets the program was compiled on (reported as seen, left
    out of the headline); None reads them from the program file's metadata. Methods that need an
    LM use the one configured with ``dspy.configure``/``dspy.context``.
    """
    import dspy

    methods = check_methods(methods, program_path)
    sizes, seeds = _check_sizes(fit_sizes), _check_seeds(seeds)
    if max_minutes is not None and not (isinstance(max_minutes, numbers.Real)
                                        and max_minutes > 0 and math.isfinite(max_minutes)):
        raise BenchError(f"max_minutes must be a positive number of minutes, not {max_minutes!r}")
    deadline = _clock() + 60 * max_minutes if max_minutes else None
    if needs_lm(methods) and dspy.settings.lm is None:
        raise BenchError(f"method(s) {', '.join(m for m in methods if m in LM_METHODS)} need a "
                         "language model: dspy.configure(lm=...) first (on the command line: "
                         "--lm SPEC), or leave them out of the methods")
    loaded, specs = _load(datasets)
    compiled, programs = _programs(methods, program_path)
    if compile_datasets is None:
        compile_datasets = (getattr(compiled, "metadata_", None) or {}).get("compile_datasets", [])
    compile_set = {str(d) for d in compile_datasets}
    seen = {n: n in compile_set or specs[n] in compile_set for n in loaded}
    lm = dspy.settings.lm
    sha = hashlib.sha256(Path(program_path).read_bytes()).hexdigest() if program_path else None
    setups = {m: _setup(m, programs.get(m), lm, sha) for m in methods}
    config = {
        "datasets": list(loaded), "data": specs, "methods": methods, "fit_sizes": sizes,
        "seeds": seeds, "compile_datasets": [str(d) for d in compile_datasets],
        "program": str(program_path) if program_path else None, "program_sha256": sha,
        "lm": getattr(lm, "model", None) if needs_lm(methods) else None,
        "rewardsmith_version": __version__, "dspy_version": dspy.__version__,
        "corpus_parts": _corpus_parts(loaded),
    }
    log = CellLog(Path(out_dir) / "cells.jsonl", resume=resume)
    # Cells from before the unseen rows were scored (no "unseen_rho") are computed again.
    finished = {key: r for key, r in log.read().items()
                if r.get("error") is None and r.get("setup") == setups.get(key[1])
                and "unseen_rho" in r}
    records = _run_cells(loaded, seen, methods, sizes, seeds, programs, setups, log, finished,
                         progress, deadline)
    return BenchResults(records, config, summarize(records, config)).write(out_dir)


def _corpus_parts(loaded) -> dict[str, str]:
    """The corpus part of each table that is a corpus table ("built-in" for the built-ins)."""
    from ..corpus import catalog
    from ..data.catalog import CATALOG

    parts = {}
    for name in loaded:
        if name in catalog():
            parts[name] = catalog()[name].part
        elif name in CATALOG:
            parts[name] = "built-in"
    return parts


def check_methods(methods, program_path=None) -> list[str]:
    """The methods, in order and without repeats; a clear error for what cannot run."""
    if isinstance(methods, str):
        methods = [methods]
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise BenchError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(METHODS)}")
    if "compiled" in methods and not program_path:
        raise BenchError("method 'compiled' needs a compiled program: pass --program "
                         "PROGRAM.json (written by `rewardsmith compile`), or leave 'compiled' "
                         "out of --methods")
    if "gbm" in methods and not sklearn_available():
        raise BenchError("method 'gbm' needs scikit-learn: pip install 'rewardsmith[sklearn]', "
                         "or leave 'gbm' out of --methods")
    if "ebm" in methods and not interpret_available():
        raise BenchError("method 'ebm' needs interpret: pip install 'rewardsmith[sklearn]', "
                         "or leave 'ebm' out of --methods")
    return methods


def needs_lm(methods) -> bool:
    return any(m in LM_METHODS for m in methods)


def _check_sizes(fit_sizes) -> list:
    sizes = list(dict.fromkeys(None if s is None else _integer(s, "fit size") for s in fit_sizes))
    for size in sizes:
        if size is not None and size < 1:
            raise BenchError(f"fit size {size!r} is not a positive number of rows (or None: all)")
    if not sizes:
        raise BenchError("no fit sizes given: pass at least one (None means all fit rows)")
    return sizes


def _check_seeds(seeds) -> list[int]:
    seeds = list(dict.fromkeys(_integer(s, "seed") for s in seeds))
    if not seeds:
        raise BenchError("no seeds given: pass one or more integers")
    return seeds


def _integer(value, what: str) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise BenchError(f"{what} {value!r} is not an integer")


def _load(datasets):
    from ..data import Dataset, load_dataset

    if isinstance(datasets, (str, Dataset)):
        datasets = [datasets]
    loaded, specs = {}, {}
    for spec in datasets:
        ds = spec if isinstance(spec, Dataset) else load_dataset(spec)
        if ds.name in loaded:
            raise BenchError(f"two datasets are both named {ds.name!r}; give each a distinct name")
        loaded[ds.name], specs[ds.name] = ds, None if isinstance(spec, Dataset) else str(spec)
    if not loaded:
        raise BenchError("no datasets given: pass one or more built-in names or file paths")
    return loaded, specs


def _programs(methods, program_path):
    from ..programs import RewardProgram, SeedProgram

    compiled = RewardProgram.from_file(program_path) if program_path else None
    programs = {}
    if "compiled" in methods:
        programs["compiled"] = compiled
    if "uncompiled" in methods:  # the same hyperparameters, none of the compiled prompts
        programs["uncompiled"] = RewardProgram(**compiled.config()) if compiled else RewardProgram()
    if "seed" in methods:
        programs["seed"] = SeedProgram()
    if "prior" in methods:  # the prior step and the statistical candidates, nothing written
        prior_only = compiled.deepcopy() if compiled else RewardProgram()
        prior_only.rounds = 0
        programs["prior"] = prior_only
    return compiled, programs


def _setup(method, program, lm, sha) -> dict:
    """What an LM cell depends on besides its key; a finished cell is reused only if it matches."""
    if method not in LM_METHODS:
        return {}
    setup = {"lm": getattr(lm, "model", None), "config": program.config(),
             "program_sha256": sha if method == "compiled" else None}
    if REVISIONS[method] != 1:
        setup["revision"] = REVISIONS[method]
    return setup


def _run_cells(loaded, seen, methods, sizes, seeds, programs, setups, log, finished, progress,
               deadline=None):
    from tqdm import tqdm

    from ..data import make_task

    plan = [(name, size, seed) for seed in seeds for size in sizes for name in loaded]
    records, done_now = {}, 0
    bar = tqdm(total=len(plan) * len(methods), disable=not progress, file=sys.stderr,
               unit="cell", desc="bench", dynamic_ncols=True)
    try:
        for name, size, seed in plan:
            keys = {m: (name, m, size, seed) for m in methods}
            todo = [m for m in methods if keys[m] not in finished]
            for m in methods:
                if m not in todo:
                    records[keys[m]] = {**finished[keys[m]], "seen": seen[name]}
                    bar.update(1)
            if not todo:
                continue
            task = make_task(loaded[name], fit_size=size, seed=seed)
            if len(task.heldout_rows) < 2:
                raise BenchError(f"dataset {name!r} has {len(task.heldout_rows)} held-out rows; "
                                 "the benchmark needs at least 2 to measure rho")
            for m in todo:
                if deadline is not None and _clock() >= deadline:
                    raise _TimeUp
                bar.set_postfix_str(f"{name} {m} fit {size or 'all'} seed {seed}")
                record = _run_cell(m, task, programs.get(m), seen[name], size, setups[m])
                if record["error"]:
                    bar.write(f"warning: {name} {m} fit {size or 'all'} seed {seed} failed: "
                              f"{record['error']}")
                log.append(record)
                records[keys[m]] = record
                done_now += 1
                bar.update(1)
    except _TimeUp:
        bar.write(f"time limit reached: {bar.total - len(records)} of {bar.total} cells not "
                  "run; the results cover the finished ones. Run the same command again to add "
                  "the rest.")
    except KeyboardInterrupt:
        bar.close()
        logger.warning("interrupted: %d of %d cells are saved in %s (%d new); run the same "
                       "command again to resume", len(records), bar.total, log.path, done_now)
        raise
    finally:
        bar.close()
    order = [(n, m, f, s) for n, f, s in plan for m in methods]
    for key in order:  # cells finished by an earlier run, past where the time limit stopped
        if key not in records and key in finished:
            records[key] = {**finished[key], "seen": seen[key[0]]}
    return [records[key] for key in order if key in records]


class _TimeUp(Exception):
    """The benchmark's time limit passed before the next cell."""


def _run_cell(method, task, program, seen, fit_size, setup) -> dict:
    started = time.perf_counter()
    try:
        measured, error = RUNNERS[method](task, program), None
    except Exception as exc:  # recorded, shown, and retried on the next run
        measured, error = {}, f"{type(exc).__name__}: {exc}"
    predictions = measured.pop("predictions", None)
    record = {
        "dataset": task.dataset, "seen": seen, "method": method, "fit_size": fit_size,
        "seed": task.seed, "fit_rows": len(task.fit_rows), "heldout_rows": len(task.heldout_rows),
        "complexity": None, "lm_calls": 0, "tokens": 0, "source": None,
        "analysis": "", "attempts": [], "note": "", **measured,
        **heldout_scores(predictions, task.fit_rows, task.heldout_rows),
        "wall_s": time.perf_counter() - started, "error": error, "setup": setup,
    }
    return _finite(record)


def _finite(value):
    """JSON-safe copy: numpy scalars become Python numbers, non-finite floats become None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
