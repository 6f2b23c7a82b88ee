"""The judge of one task: every candidate function, fitted and scored the same way.

``Judge(rows, prior)`` starts with the statistical candidates (prior alone, ridge, shrunk ridge,
ridge shrunk toward each ``alternatives`` prior, and selected terms when rows are many).
``judge(source)`` takes a written function through the mechanical rewrites, the safety check, the
fit and cross-validation, adds it to the candidates and returns an ``Attempt`` whose feedback tells
the writer what to fix and what it has to beat.

``winner()``: the statistical answer is the shrunk ridge (plain ridge without a prior), unless
ridge or the prior alone beats its CV score by ``min_gain``. The shrunk ridge nests the other two,
and its penalty and prior scale are chosen by exact leave-one-out error, so it is the default;
cross-validation overrules it only by a margin. On the benchmark's cells, replayed with the
priors the model gave (seeds 0-4, aadb, spaq, wine), the statistical answer by this rule had
mean held-out rho 0.703, 0.688, 0.790 and 0.820 at 10, 20, 100 and all fit rows, against
0.690, 0.690, 0.787 and 0.820 for the shrunk ridge always (the gain at 10 rows is wine, whose
prior is wrong on half the attributes). An earlier measurement that favoured always answering
with the shrunk ridge was made while the pooled CV was broken (see ``LinearFit.rank_score``).

A challenger (a written function, or the selected terms) wins only when its CV score beats the
statistical answer's by ``min_gain``, because the best of many noisy CV scores is flattered
(CAAFE keeps a feature only when cross-validation improves). Rows that repeat an attribute vector
share a fold in every cross-validation here.

Held-out rows never come here. Nothing here imports dspy: ``RewardProgram`` and ``SeedProgram``
both call it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from ..fitting import Prior, fold_groups
from ..metrics.spearman import evaluate_function, worst_ranked
from ..sandbox import SandboxError, ScoringFunction, UnsafeCodeError, default_sandbox
from ..sandbox.rewrite import (
    declare_missing_params,
    drop_unused_params,
    lift_constants,
    tidy_source,
)
from .candidates import (
    Candidate,
    alternative_candidate,
    statistical_candidates,
    terms_candidate,
)
from .written import fit_written

#: Cross-validation runs on at most this many fit rows (seeded sub-sample); the final fit uses all.
CV_MAX_ROWS = 2000


@dataclass
class Attempt:
    """One written function and what the judge made of it."""

    round: int
    source: str
    ok: bool
    fit_rho: float = -1.0    # in-sample rho of the fitted function on all fit rows
    cv_rho: float = -1.0     # cross-validated rho: what candidates are compared by
    feedback: str = ""
    raw_source: str = field(default="", repr=False)  # the code as the writer wrote it

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "raw_source"}


class Judge:
    """Fits, scores and ranks the candidates of one task (see the module docstring)."""

    def __init__(self, rows, prior: Prior | None = None, *, seed: int = 0, sandbox=None,
                 min_gain: float = 0.01, fit_constants: bool = True,
                 lift_constants: bool = True, select_terms: bool = True,
                 alternatives: dict[str, Prior] | None = None, max_terms: int | None = None):
        self.rows = rows
        self.prior = prior
        self.seed = seed
        self.min_gain = min_gain
        self.fit_constants = fit_constants
        self.lift_constants = lift_constants
        self.sandbox = sandbox or default_sandbox()
        self.cv_rows = _subsample(rows, CV_MAX_ROWS, seed)
        self.cv_groups = fold_groups(self.cv_rows.X, self.cv_rows.groups)
        vector = prior.vector(rows.attributes) if prior else np.zeros(len(rows.attributes))
        self.candidates: list[Candidate] = statistical_candidates(
            rows, self.cv_rows, vector, seed, self.cv_groups)
        # Other priors (the one retrieved from similar attributes) compete as rivals of the
        # statistical answer: cross-validation trusts each as far as the rows support it.
        for label, other in (alternatives or {}).items():
            rival = alternative_candidate(label, rows, self.cv_rows, other.vector(rows.attributes),
                                          seed, self.cv_groups)
            if rival is not None:
                self.candidates.append(rival)
        terms = (terms_candidate(rows, self.cv_rows, seed, self.cv_groups, max_terms)
                 if select_terms else None)
        if terms is not None:
            self.candidates.append(terms)

    # -- candidates --------------------------------------------------------------------------
    @property
    def front(self):
        """The selected terms' front (``fitting.Front``: every size the selection went
        through), or None where no terms were selected."""
        return next((c.front for c in self.candidates if c.front is not None), None)

    @property
    def statistical_choice(self) -> Candidate:
        """The shrunk ridge when there is a prior, else ridge, unless another statistical
        candidate beats its CV score by ``min_gain`` (see the module docstring)."""
        return self._statistical(self.min_gain)

    def _statistical(self, margin: float, exclude=()) -> Candidate:
        plain = [c for c in self.candidates if not c.challenger and c.name not in exclude]
        by_name = {c.name: c for c in plain}
        default = by_name.get("shrunk ridge") or by_name["ridge"]
        rivals = [c for c in plain if c.cv_rho > default.cv_rho + margin]
        return max(rivals, key=lambda c: c.cv_rho, default=default)

    def best_written(self) -> Candidate | None:
        return max((c for c in self.candidates if c.written), key=lambda c: c.cv_rho,
                   default=None)

    def winner(self, *, margin: float | None = None, exclude=()) -> Candidate:
        """The answer by the rule of the module docstring. ``margin`` (default ``min_gain``) and
        ``exclude`` (statistical candidates left out, by name) are there to study other rules
        (``benchmarks/judge_variants.py``)."""
        margin = self.min_gain if margin is None else margin
        bar = self._statistical(margin, exclude)
        best = max((c for c in self.candidates if c.challenger), key=lambda c: c.cv_rho,
                   default=None)
        if best is not None and best.cv_rho > bar.cv_rho + margin:
            return best
        return bar

    def standings(self) -> str:
        """The candidates by CV score, one line each, the winner marked: what the user reads."""
        chosen = self.winner()
        lines = []
        for c in sorted(self.candidates, key=lambda c: -c.cv_rho):
            mark = "*" if c is chosen else " "
            lines.append(f"{mark} {c.name:<16} CV rho {c.cv_rho:6.3f}   {c.detail}")
        scheme = chosen.cv.scheme if chosen.cv else ""
        return f"candidates by cross-validated rho on the fit rows ({scheme}):\n" + "\n".join(lines)

    # -- judging a written function ----------------------------------------------------------
    def judge(self, round_number: int, source: str, name: str | None = None) -> Attempt:
        """Rewrite, check, fit and cross-validate ``source``; never raises for a bad function."""
        source = tidy_source(source)  # typing imports and annotations would only be refused
        source, undeclared = declare_missing_params(source)
        source, unread = drop_unused_params(source)  # numbers no row could fit
        try:
            function = ScoringFunction(source, tuple(self.rows.attributes), sandbox=self.sandbox)
        except UnsafeCodeError as exc:
            return Attempt(round_number, source, False,
                           feedback=f"Rejected by the safety check: {exc}. Rewrite it within the "
                           "allowed syntax.")
        function, lifted = self._lifted(function)
        try:
            fitted = fit_written(function, self.rows, self.cv_rows, self.sandbox, self.seed,
                                 fit=self.fit_constants, groups=self.cv_groups)
        except SandboxError as exc:
            failed = evaluate_function(function, self.rows)
            reason = failed.reason if not failed.ok else str(exc)
            where = f" (line {failed.line})" if failed.line else ""
            return Attempt(round_number, function.source, False,
                           feedback=f"It failed on the fit rows{where}: {reason}"
                           + unknown_key_hint(reason, self.rows.attributes))
        final = evaluate_function(fitted.function, self.rows)
        if not final.ok:
            return Attempt(round_number, fitted.function.source, False,
                           feedback=f"After fitting it failed on the fit rows: {final.reason}")
        bar = self.statistical_choice
        candidate = Candidate(name or f"attempt {round_number}", fitted.function, fitted.cv,
                              fitted.detail, written=True, challenger=True)
        self.candidates.append(candidate)
        notes = [f"Cross-validated rho {fitted.cv.rho:.3f} ({fitted.cv.scheme}); "
                 f"in-sample {final.rho:.3f}."]
        if undeclared:
            notes.append(f"It read PARAMS keys it did not declare ({', '.join(undeclared)}); "
                         "they were added to PARAMS and fitted.")
        if unread:
            notes.append(f"PARAMS keys it never read were removed ({', '.join(unread)}).")
        if lifted:
            notes.append("Its literal weights were declared as PARAMS and fitted.")
        notes.append(f"Fitting: {fitted.detail}.")
        verdict = ("It beats" if fitted.cv.rho > bar.cv_rho + self.min_gain else
                   "To be chosen it must beat")
        notes.append(f"{verdict} the statistical answer, {bar.name} "
                     f"(CV rho {bar.cv_rho:.3f}), by more than {self.min_gain:g}.")
        notes.extend(worst_ranked(final.outputs, self.rows, k=2))
        return Attempt(round_number, fitted.function.source, True, final.rho, fitted.cv.rho,
                       " ".join(notes))

    def _lifted(self, function: ScoringFunction) -> tuple[ScoringFunction, bool]:
        """Literal weights declared as PARAMS (so they can be fitted) when there are none."""
        if function.params or not (self.fit_constants and self.lift_constants):
            return function, False
        source = lift_constants(function.source)
        if source is None:
            return function, False
        try:
            return ScoringFunction(source, function.attributes, sandbox=self.sandbox), True
        except UnsafeCodeError:
            return function, False


def _subsample(rows, limit: int, seed: int):
    if len(rows) <= limit:
        return rows
    pick = np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
    return rows.subset(pick)


def unknown_key_hint(reason: str, attributes) -> str:
    """A hint naming the real keys when a function failed reading a key ``attrs`` lacks (a small
    model prefixes attribute names with ``w_`` or reads the target, on every retry, when the
    feedback only says ``KeyError``)."""
    found = re.search(r"KeyError: '([^']*)'", reason or "")
    if not found or found.group(1) in attributes:
        return ""
    return (f" There is no key '{found.group(1)}': the keys of attrs are exactly "
            + ", ".join(attributes) + ", and a PARAMS key must be declared in PARAMS.")
