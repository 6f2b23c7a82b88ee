"""Tasks: one dataset cut into fit rows (the program may look) and held-out rows (only the metric).

One task is one ``dspy.Example``. Its prompt fields (description, schema, profile) are computed from
the fit rows alone, so nothing about the held-out rows can reach a language model. The prior
step's text (``prior_schema``) and the ``card`` (the table's own description, no rows) depend on
the card alone wherever the card describes an attribute.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .dataset import Dataset, DatasetError, group_codes
from .encoding import Encoding, RawRows
from .loading import load_dataset
from .profile import profile
from .rows import RowTable

if TYPE_CHECKING:
    import dspy


def split_frames(ds: Dataset, *, holdout_fraction: float = 0.2, seed: int = 0
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit rows, held-out rows): the table's own split, else a seeded random cut.

    The random cut holds out ``round(holdout_fraction * n)`` rows, at least one, and leaves at
    least one fit row. With a split column the table's split is used as it is (its held-out part
    may be empty, for example when every row is for fitting).
    """
    if ds.has_official_split:
        fit, heldout = ds.fit_frame(), ds.heldout_frame()
    else:
        if not 0 < holdout_fraction < 1:
            raise DatasetError(f"holdout_fraction must be between 0 and 1 (exclusive), not "
                               f"{holdout_fraction!r}")
        n = len(ds.frame)
        if n < 2:
            raise DatasetError(f"dataset {ds.name!r} has {n} row: at least 2 are needed to keep "
                               "one fit row and one held-out row")
        n_held = min(max(1, round(holdout_fraction * n)), n - 1)
        rng = np.random.default_rng(seed)
        if ds.group_column is not None:
            held = _held_groups(ds.frame[ds.group_column], n_held, rng)
        else:
            held = np.zeros(n, dtype=bool)
            held[rng.permutation(n)[:n_held]] = True
        # Boolean masks keep the file's row order inside each part.
        fit = ds.frame[~held].reset_index(drop=True)
        heldout = ds.frame[held].reset_index(drop=True)
    if len(fit) == 0:
        raise DatasetError(f"dataset {ds.name!r} has no fit rows: every row of split column "
                           f"{ds.split_column!r} is held out; mark some rows 'train'")
    return fit, heldout


def _held_groups(groups: pd.Series, n_held: int, rng) -> np.ndarray:
    """Rows held out: whole groups in a seeded order until at least ``n_held`` rows, never
    every group (a row with no group value is a group of its own)."""
    codes = group_codes(groups)
    n_groups = int(codes.max()) + 1
    order = rng.permutation(n_groups)
    reached = np.cumsum(np.bincount(codes, minlength=n_groups)[order])
    taken = min(int(np.searchsorted(reached, n_held)) + 1, n_groups - 1)
    return np.isin(codes, order[:taken])


def make_task(ds: Dataset, *, fit_size: int | None = None, seed: int = 0,
              holdout_fraction: float = 0.2) -> dspy.Example:
    """One task: prompt fields from the fit rows, rows as ``RowTable``s.

    ``fit_size`` sub-samples the fit rows (seeded; all of them when it is larger than the pool),
    which makes small-data tasks out of large tables.
    """
    import dspy  # here, not at the top: loading a table should not pay for importing dspy

    if fit_size is not None and fit_size < 1:
        raise DatasetError(f"fit_size must be a positive number of rows, not {fit_size!r}")
    fit, heldout = split_frames(ds, holdout_fraction=holdout_fraction, seed=seed)
    if fit_size is not None and fit_size < len(fit):
        chosen = np.sort(np.random.default_rng(seed).choice(len(fit), fit_size, replace=False))
        fit = fit.iloc[chosen].reset_index(drop=True)
    labels = {}
    from ..corpus.catalog import catalog  # here: the corpus reads cards of this package

    entry = catalog().get(ds.name)
    if entry is not None and entry.gold_prior is not None and entry.part != "unseen":
        # A label, never an input: the prior step's metric compares with it.
        labels["gold_prior"] = entry.gold_prior
    description = ds.description or (
        f"Items from the table {ds.name!r}, each judged by people; {ds.target!r} is the judgment.")
    # Programs see numbers with no gaps: text levels as 0/1 features, gaps as fit-row medians.
    encoding = Encoding.fit(fit, ds.attributes, ds.levels, gaps=ds.gaps(), orders=ds.orders)
    view, missing = ds, {}
    if not encoding.is_identity:
        labels["encoding"] = encoding
        labels["raw_rows"] = RawRows(fit, heldout)
        missing = {a: int(fit[a].isna().sum()) for a in ds.attributes if fit[a].isna().any()}
        view = replace(ds, attributes=encoding.features, levels={}, orders={},
                       attribute_notes=encoding.notes(ds.attribute_notes))
        fit, heldout = encoding.transform(fit), encoding.transform(heldout)
    return dspy.Example(
        dataset=ds.name,
        description=description,
        schema=view.schema_text(fit),
        prior_schema=view.schema_text(fit, ranges="undescribed"),
        card=view.card_entry(),
        profile=profile(fit, view.attributes, ds.target, seed=seed, missing=missing),
        fit_rows=RowTable(fit, view.attributes, ds.target, ds.id_column, ds.group_column),
        heldout_rows=RowTable(heldout, view.attributes, ds.target, ds.id_column, ds.group_column),
        fit_size=len(fit),
        seed=seed,
        **labels,
    ).with_inputs("description", "schema", "profile", "fit_rows", "prior_schema", "card")


def make_tasks(datasets, *, fit_sizes=(None,), seeds=(0,), holdout_fraction: float = 0.2
               ) -> list[dspy.Example]:
    """Every (dataset, fit size, seed) combination, in that nesting order.

    ``datasets`` holds ``Dataset`` objects or anything ``load_dataset`` accepts (each loaded once).
    """
    if isinstance(datasets, (str, Dataset, pd.DataFrame)):
        datasets = [datasets]
    loaded = [d if isinstance(d, Dataset) else load_dataset(d) for d in datasets]
    return [
        make_task(ds, fit_size=size, seed=seed, holdout_fraction=holdout_fraction)
        for ds, size, seed in itertools.product(loaded, fit_sizes, seeds)
    ]
