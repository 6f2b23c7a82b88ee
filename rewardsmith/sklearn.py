"""``RewardRegressor``: a reward program as a scikit-learn estimator.

``RewardRegressor(...).fit(X, y)`` runs a reward program (by default a fresh ``RewardProgram``)
on every row of ``X`` and keeps the function it chose in ``function_``; ``predict`` runs that
function in the sandbox, never in this process. It clones, pickles, and works in pipelines,
grid searches and ``cross_val_score``. ``score`` is Spearman rho, not R^2: the function is written
to rank items as people did, and its scale means nothing.

Needs scikit-learn 1.6 or newer (``pip install "rewardsmith[sklearn]"``).
"""

from __future__ import annotations

import copy
import os

import dspy
import numpy as np
import pandas as pd

try:
    from sklearn.base import BaseEstimator, RegressorMixin, clone
    from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
except ImportError as exc:  # no scikit-learn, or one older than 1.6 (no validate_data)
    raise ImportError(
        "rewardsmith.sklearn (RewardRegressor) needs scikit-learn 1.6 or newer: "
        'pip install "rewardsmith[sklearn]"'
    ) from exc

from .data import load_dataset, make_task
from .fitting import Prior
from .lm.health import unreachable_as_error
from .metrics.spearman import spearman
from .programs import RewardProgram
from .programs.run import written_back
from .sandbox import ScoringFunction

__all__ = ["MIN_SAMPLES", "RewardRegressor"]

#: The fewest rows ``fit`` accepts (as ``load_dataset``): fewer cannot be cross-validated.
MIN_SAMPLES = 5


class RewardRegressor(RegressorMixin, BaseEstimator):
    """Learn a readable ``score(attrs) -> float`` from attributes ``X`` and human judgments ``y``.

    Parameters
    ----------
    program : RewardProgram, SeedProgram, str or os.PathLike, default=None
        The reward program to run: an instance (copied, never changed by ``fit``), a path to a
        saved ``RewardProgram`` file (``RewardProgram.from_file``), or None for a fresh
        ``RewardProgram()``.
    lm : dspy.LM, default=None
        The language model. None uses the one configured with ``dspy.configure`` or
        ``dspy.context``. Clones share it: it is a client, not a value to copy. The adapter is
        the configured one, or ``dspy.JSONAdapter()`` when none is.
    rounds, samples : int, default=None
        Override the program's rounds of writing (0: no writing, only the prior and the
        statistical candidates) and functions written per round. None keeps the program's own
        (a fresh ``RewardProgram``: 2 and 2).
    description : str, default=""
        What is judged and what the attributes mean, for the prompts.
    prior : dict or fitting.Prior, default=None
        Your prior (``{"x0": "higher", "x2": "lower"}``), used instead of asking the LM for one.
        With ``rounds=0`` and a prior, ``fit`` makes no LM call at all.
    seed : int, default=0
        Seeds the profile's example rows and the program's cross-validation folds. The LM's own
        sampling is outside its reach, hence the ``non_deterministic`` tag.

    Attributes
    ----------
    function_ : ScoringFunction
        The chosen function; ``function_.source`` is its code, ``function_.export(path)`` writes
        it as a standalone file. Its attribute names are ``feature_names_in_`` when ``X`` had
        string column names, else ``x0 .. x{n-1}``.
    analysis_ : str
        The LM's analysis of the table ("" when nothing was written).
    attempts_ : list of Attempt
        Every written function with its feedback and cross-validated rho.
    prior_ : fitting.Prior or None
        The prior the program used (yours, the LM's, or None).
    chosen_ : str
        The name of the winning candidate (``"attempt 2"``, ``"ridge"``, ...).
    standings_ : str
        Every candidate's cross-validated rho, the chosen one marked.
    front_ : fitting.Front or None
        The selected terms' front (from 100 rows): CV rho by number of terms, ``front_.text()``
        as the command prints it, and ``front_.function(n)`` the function of ``n`` terms (on
        the features the program fitted: text levels as 0/1 columns). None with fewer rows.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    """

    def __init__(self, program=None, lm=None, *, rounds: int | None = None,
                 samples: int | None = None, description: str = "", prior=None, seed: int = 0):
        self.program = program
        self.lm = lm
        self.rounds = rounds
        self.samples = samples
        self.description = description
        self.prior = prior
        self.seed = seed

    # -- scikit-learn API ----------------------------------------------------------------------
    def fit(self, X, y, groups=None):
        """Run the program on all rows of ``X`` (all of them fit rows); returns self.

        ``X`` may hold missing values (NaN) and, as a DataFrame, text or categorical columns:
        the function then reads a missing value as the fit rows' median and weighs each level
        of a text column against its most frequent one. ``groups`` (a label per row, as
        scikit-learn's ``GroupKFold`` takes): rows of one subject, kept in one fold by the
        judge's cross-validation so that no candidate is scored on a subject it was fitted on."""
        frame = X if isinstance(X, pd.DataFrame) else None
        X, y = validate_data(self, X, y, dtype=None if _has_text(frame) else np.float64,
                             y_numeric=True, ensure_min_samples=MIN_SAMPLES,
                             ensure_all_finite="allow-nan")
        if not np.any(y != y[0]):
            raise ValueError(f"y is constant ({y[0]:g} in all {len(y)} samples): there is no "
                             "ranking to learn; RewardRegressor needs at least two target values")
        names = (list(self.feature_names_in_) if hasattr(self, "feature_names_in_")
                 else [f"x{i}" for i in range(X.shape[1])])
        if groups is not None and len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} labels for {len(y)} samples; pass one "
                             "label per row of X")
        dataset = self._dataset(X if frame is None else frame, y, names, groups)
        prior = self.prior
        if prior is not None and not isinstance(prior, Prior):
            # An unknown name fails before any call; a text column's levels are named
            # "column=level".
            prior = Prior.from_dict(prior, known=dataset.features)
        program = self._program()
        lm = self.lm if self.lm is not None else dspy.settings.lm
        if lm is None and _lm_calls(program, prior) > 0:
            raise RuntimeError(
                "RewardRegressor needs a language model: pass lm=rewardsmith.make_lm(...) or "
                "call dspy.configure(lm=...) first (rounds=0 with a prior= needs none)")
        task = make_task(dataset, seed=self.seed)
        with dspy.context(lm=lm, adapter=dspy.settings.adapter or dspy.JSONAdapter()), \
                unreachable_as_error():
            prediction = program(**task.inputs(), prior=prior)
        if prediction.function is None:
            raise RuntimeError("the program produced no usable scoring function; its attempts: "
                               + "; ".join(a.feedback for a in prediction.attempts))
        # A function without a bound sandbox runs in the process-wide one and pickles.
        raw = written_back(prediction.function, task)
        self.function_ = ScoringFunction(raw.source, names, name=raw.name)
        self.analysis_ = prediction.analysis
        self.attempts_ = list(prediction.attempts)
        self.prior_ = prediction.prior
        self.chosen_ = prediction.chosen
        self.standings_ = prediction.standings
        self.front_ = prediction.front
        self.lm_note_ = prediction.lm_note  # "" when every LM call was answered
        return self

    def predict(self, X) -> np.ndarray:
        """The function's score of every row of ``X``, run in the sandbox (float64, shape (n,))."""
        check_is_fitted(self)
        frame = X if isinstance(X, pd.DataFrame) else None
        X = validate_data(self, X, reset=False, dtype=None if _has_text(frame) else np.float64,
                          ensure_all_finite="allow-nan")
        if frame is not None and _has_text(frame):
            return np.asarray(self.function_.predict(frame.reset_index(drop=True)[
                list(self.function_.attributes)]), dtype=np.float64)
        return np.asarray(self.function_.predict(X), dtype=np.float64)

    def score(self, X, y) -> float:
        """Spearman rho between ``predict(X)`` and ``y`` -- not R^2 as for other regressors.

        The function is written to rank items as people did; its scale means nothing. A constant
        or non-finite output scores -1.0. ``cross_val_score`` and ``GridSearchCV`` use this
        unless given another ``scoring``.
        """
        predictions = self.predict(X)
        y = np.asarray(y, dtype=np.float64).ravel()
        check_consistent_length(predictions, y)
        return spearman(predictions, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # an LM that samples writes another function each fit
        tags.input_tags.allow_nan = True  # a gap is read as the fit rows' median
        tags.input_tags.string = True  # text columns of a DataFrame are attributes too
        tags.input_tags.sparse = False
        return tags

    def __sklearn_clone__(self):
        # As sklearn's clone, except that the LM is shared, not deep-copied: it is a client (an
        # API connection, a local server, a cache), and some cannot be copied at all.
        params = self.get_params(deep=False)
        lm = params.pop("lm")
        return type(self)(lm=lm, **{k: clone(v, safe=False) for k, v in params.items()})

    # -- internals -----------------------------------------------------------------------------
    def _program(self):
        """A program of the caller's own to run and change: a fresh one, one from a file, or a
        copy of the instance given; with ``rounds``, ``samples`` and ``seed`` applied."""
        settings = {"rounds": self.rounds, "samples": self.samples}
        if self.program is None:
            return RewardProgram(**{k: v for k, v in settings.items() if v is not None},
                                 seed=self.seed)
        if isinstance(self.program, (str, os.PathLike)):
            program = RewardProgram.from_file(self.program)
        else:
            program = copy.deepcopy(self.program)
        for name, value in settings.items():
            if value is None:
                continue
            if not hasattr(program, name):
                raise ValueError(f"{name}={value!r} does not apply to a "
                                 f"{type(program).__name__}; leave {name}=None")
            setattr(program, name, value)
        if hasattr(program, "seed"):
            program.seed = self.seed
        return program

    def _dataset(self, X, y, names, groups=None):
        """The rows as a ``Dataset`` whose rows are all fit rows (the caller keeps test data)."""
        if isinstance(X, pd.DataFrame):
            frame = X.reset_index(drop=True).copy()
            frame.columns = names
        else:
            frame = pd.DataFrame(X, columns=names)
        target, split = _free_name(names, "human_score"), _free_name(names, "split")
        frame[target] = y
        frame[split] = "fit"
        group = None
        if groups is not None:
            group = _free_name([*names, target, split], "group")
            frame[group] = np.asarray(groups)
        return load_dataset(frame, target=target, attributes=names, split_column=split,
                            group_column=group, description=self.description or None,
                            name="X")


def _has_text(frame) -> bool:
    """A DataFrame with a column that is not numbers (text, categories)."""
    return frame is not None and any(
        not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
        for t in frame.dtypes)


def _lm_calls(program, prior) -> int:
    """The most LM calls ``program`` makes for one task (a prior given skips eliciting one)."""
    calls = program.lm_calls_per_run()
    if prior is not None and getattr(program, "elicit_prior", False):
        calls -= 1
    return calls


def _free_name(taken, name: str) -> str:
    candidate, k = name, 0
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    return candidate
