"""Running a (compiled) program on a new dataset (the scikit-learn face is rewardsmith.sklearn)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lm.health import unreachable_as_error
from ..metrics.spearman import heldout_scores, usable_outputs
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
    heldout_seen: int = 0         # held-out rows whose attributes repeat a fit row's exactly
    unseen_rho: float | None = None  # rho on the other held-out rows (None without held-out rows)
    lm_failed_calls: int = 0      # LM calls that failed after their retries
    lm_note: str = ""             # "" when every LM call was answered; else what failed
    candidates: list = field(default_factory=list)  # every candidate's name, CV rho and detail
    heldout_scores: object = field(default=None, repr=False)  # the function's held-out outputs
    # The function as fitted, on the task's features (text levels as 0/1, gaps filled); the
    # same as ``function`` for a table of numbers without gaps. ``function`` reads the
    # attributes as the table holds them.
    feature_function: ScoringFunction | None = field(default=None, repr=False)
    # The selected terms' front (``fitting.Front``): CV rho by number of terms; None where the
    # fit rows were too few for selected terms (or ``select_terms=False``).
    front: object = field(default=None, repr=False)

    def front_function(self, terms: int) -> ScoringFunction:
        """The selected-terms function with ``terms`` terms, a point of the front other than the
        one the one-standard-error rule chose, read on the table's own columns like
        ``function``."""
        if self.front is None:
            from ..fitting.terms import MIN_ROWS

            why = (f"they need at least {MIN_ROWS} fit rows, and it had {self.fit_rows}"
                   if self.fit_rows < MIN_ROWS else
                   "the program ran with select_terms=False, or the selection kept no term")
            raise ValueError(f"this run has no front of selected terms: {why}")
        return written_back(self.front.function(terms), self.task)

    def _repr_html_(self) -> str:
        """The run as Jupyter shows it: the page ``rewardsmith run --report`` writes."""
        from ..report import run_page

        return run_page(self, fragment=True)

    def to_html(self, path=None) -> str:
        """The run's self-contained HTML page (written to ``path`` too, when given)."""
        from ..files import atomic_write_text
        from ..report import run_page

        page = run_page(self)
        if path is not None:
            atomic_write_text(path, page)
        return page


def run_program(program, data, *, fit_size=None, seed: int = 0, prior=None,
                **load_options) -> RunResult:
    from ..data import Dataset, load_dataset, make_task
    from ..fitting import Prior

    dataset = data if isinstance(data, Dataset) else load_dataset(data, **load_options)
    task = make_task(dataset, fit_size=fit_size, seed=seed)
    if prior is not None and not isinstance(prior, Prior):
        prior = Prior.from_dict(prior, known=task.fit_rows.attributes)
    with unreachable_as_error():
        prediction = program(**task.inputs(), prior=prior)
    function = prediction.function
    scores, outputs = {"rho": None, "unseen_rho": None, "heldout_seen": 0}, None
    if len(task.heldout_rows):
        outputs = usable_outputs(function, task.heldout_rows)
        scores = heldout_scores(outputs, task.fit_rows, task.heldout_rows)
    return RunResult(
        function=written_back(function, task), feature_function=function,
        rho=scores["rho"], dataset=dataset.name, fit_rows=len(task.fit_rows),
        heldout_rows=len(task.heldout_rows), analysis=prediction.analysis,
        prior=getattr(prediction, "prior", None), standings=getattr(prediction, "standings", ""),
        chosen=getattr(prediction, "chosen", None),
        attempts=list(prediction.attempts), lm_calls=getattr(prediction, "lm_calls", 0),
        tokens=getattr(prediction, "tokens", 0), task=task,
        heldout_seen=scores["heldout_seen"], unseen_rho=scores["unseen_rho"],
        lm_failed_calls=getattr(prediction, "lm_failed", 0),
        lm_note=getattr(prediction, "lm_note", ""),
        candidates=list(getattr(prediction, "candidates", [])), heldout_scores=outputs,
        front=getattr(prediction, "front", None),
    )


def written_back(function: ScoringFunction | None, task) -> ScoringFunction | None:
    """``function`` (fitted on the task's features) reading the attributes as the table holds
    them: text compared with its levels, a gap filled with the fit rows' median. Checked on the
    task's own rows: the two give the same scores, or this raises (a bug, not bad input)."""
    encoding = task.get("encoding") if hasattr(task, "get") else None
    if function is None or encoding is None:
        return function
    raw = task.raw_rows.fit
    try:
        expected = function.predict(task.fit_rows)
    except Exception:  # it fails on some fit row: nothing to compare with, take the splice
        return ScoringFunction(encoding.raw_source(function.source), list(encoding.attributes),
                               name=function.name, sandbox=function.sandbox)
    for source in (encoding.raw_source(function.source), encoding.wrapped_source(function.source)):
        candidate = ScoringFunction(source, list(encoding.attributes), name=function.name,
                                    sandbox=function.sandbox)
        try:
            got = candidate.predict(raw[list(encoding.attributes)])
        except Exception:  # the spliced form failed where the features did not: wrap instead
            continue
        if np.allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True):
            return candidate
    raise RuntimeError("internal error: the function written back on the attributes scores the "
                       "fit rows differently; please report it with the table's shape")
