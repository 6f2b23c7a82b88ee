"""Running a (compiled) program on a new dataset, and the scikit-learn style face over it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics.spearman import evaluate_function, spearman
from ..sandbox import ScoringFunction


@dataclass
class RunResult:
    """What a program run produced for one dataset."""

    function: ScoringFunction | None
    rho: float | None            # held-out Spearman rho; None when the data has no held-out rows
    dataset: str
    fit_rows: int
    heldout_rows: int
    analysis: str = ""
    prior: object = None          # the fitting.Prior the run used (None: the LM gave none)
    standings: str = ""           # the candidates by CV score, the chosen one marked
    chosen: str | None = None     # the winning candidate's name
    attempts: list = field(default_factory=list)
    lm_calls: int = 0
    tokens: int = 0
    task: object = field(default=None, repr=False)  # the dspy.Example the program ran on


def run_program(program, data, *, fit_size=None, seed: int = 0, prior=None,
                **load_options) -> RunResult:
    from ..data import Dataset, load_dataset, make_task
    from ..fitting import Prior

    dataset = data if isinstance(data, Dataset) else load_dataset(data, **load_options)
    if prior is not None and not isinstance(prior, Prior):
        prior = Prior.from_dict(prior, known=dataset.attributes)
    task = make_task(dataset, fit_size=fit_size, seed=seed)
    prediction = program(**task.inputs(), prior=prior)
    function = prediction.function
    rho = None
    if len(task.heldout_rows):
        rho = evaluate_function(function, task.heldout_rows).rho if function else -1.0
    return RunResult(
        function=function, rho=rho, dataset=dataset.name, fit_rows=len(task.fit_rows),
        heldout_rows=len(task.heldout_rows), analysis=prediction.analysis,
        prior=getattr(prediction, "prior", None), standings=getattr(prediction, "standings", ""),
        chosen=getattr(prediction, "chosen", None),
        attempts=list(prediction.attempts), lm_calls=getattr(prediction, "lm_calls", 0),
        tokens=getattr(prediction, "tokens", 0), task=task,
    )


class RewardRegressor:
    """scikit-learn style: ``RewardRegressor(program, lm=...).fit(X, y).predict(X)``.

    ``X`` is a DataFrame of numeric attribute columns, ``y`` the human judgments. ``fit`` runs the
    program on all rows of ``X`` (they are the fit rows) and stores the learned function in
    ``function_``; ``score(X, y)`` is Spearman rho, the quantity the function was written for.
    """

    def __init__(self, program=None, lm=None, description: str = "", seed: int = 0):
        self.program = program
        self.lm = lm
        self.description = description
        self.seed = seed

    def fit(self, X: pd.DataFrame, y) -> RewardRegressor:
        import dspy

        from ..data import load_dataset, make_task
        from .reward_program import RewardProgram

        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame whose columns are the attributes")
        target = "__target__" if "human_score" in X.columns else "human_score"
        frame = X.reset_index(drop=True).copy()
        frame[target] = np.asarray(y, dtype=np.float64)
        dataset = load_dataset(frame, target=target, attributes=list(X.columns),
                               description=self.description, name="dataframe")
        # Every row is a fit row: the caller keeps their own test data.
        dataset = _all_fit(dataset)
        task = make_task(dataset, seed=self.seed)
        program = self.program or RewardProgram(seed=self.seed)
        if self.lm is not None:
            with dspy.context(lm=self.lm):
                prediction = program(**task.inputs())
        else:
            prediction = program(**task.inputs())
        if prediction.function is None:
            raise RuntimeError("the program produced no valid scoring function; see attempts_")
        self.function_ = prediction.function
        self.analysis_ = prediction.analysis
        self.attempts_ = prediction.attempts
        self.feature_names_in_ = list(X.columns)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return self.function_.predict(X, self.feature_names_in_)

    def score(self, X: pd.DataFrame, y) -> float:
        """Spearman rho between ``predict(X)`` and ``y`` (-1.0 for a failing or constant output)."""
        return spearman(self.predict(X), np.asarray(y, dtype=np.float64))

    def _check_fitted(self) -> None:
        if not hasattr(self, "function_"):
            raise RuntimeError("this RewardRegressor is not fitted yet: call fit(X, y) first")


def _all_fit(dataset):
    from dataclasses import replace

    frame = dataset.frame.copy()
    frame["split"] = "fit"
    return replace(dataset, frame=frame, split_column="split")
