"""RewardProgram: analyse the table, write a scoring function, learn from feedback.

One call (one task) runs:

    profile -> AnalyzeAttributes -> WriteScoringFunction -> sandbox on fit rows (fit PARAMS)
            -> feedback -> WriteScoringFunction again ... (up to ``rounds`` attempts)

The fit rows are cut into a fitting part and a validation part. Each attempt's constants are fitted
on the fitting part and the attempt is judged by rank agreement on the validation part; the best
attempt wins, its constants are refitted on all fit rows. Held-out rows are never touched here:
only the metric sees them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import dspy
import numpy as np
from dspy.utils.usage_tracker import track_usage

from ..lm.faults import (
    first_line,
    history_marker,
    is_fatal_lm_error,
    reply_since,
    was_cut_off,
    was_empty,
)
from ..metrics.spearman import evaluate_function, worst_ranked
from ..sandbox import ScoringFunction, UnsafeCodeError
from ..sandbox.rewrite import (
    declare_missing_params,
    drop_unused_params,
    lift_constants,
    tidy_source,
)
from ..signatures import AnalyzeAttributes, WriteScoringFunction
from .persist import SavableProgram

#: Fit sets smaller than this are not split: validating on 3 rows says nothing.
MIN_ROWS_TO_SPLIT = 12
#: Reply caps in tokens for the two steps.
ANALYSIS_MAX_TOKENS = 240
CODE_MAX_TOKENS = 900
#: Sampling temperature for asking again when the writer repeats an earlier attempt's code.
RESAMPLE_TEMPERATURE = 0.7


@dataclass
class Attempt:
    """One written function and what the sandbox made of it."""

    round: int
    source: str
    ok: bool
    fit_rho: float = -1.0
    valid_rho: float = -1.0
    feedback: str = ""
    raw_source: str = field(default="", repr=False)  # the code as the writer wrote it

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "raw_source"}


class RewardProgram(SavableProgram, dspy.Module):
    """The DSPy program that writes a reward function for one task.

    Hyperparameters live here; data arrives in ``forward`` (one task's inputs). ``rounds`` is the
    most write attempts per task, ``patience`` how many attempts in a row may fail to improve
    before stopping, ``validation_fraction`` the share of fit rows kept for choosing among attempts.
    ``fit_constants`` fits declared ``PARAMS`` to the rows; ``lift_constants`` also tries each
    function with its literal weights turned into fitted PARAMS and keeps that version when it
    ranks the validation rows better.
    """

    CONFIG_KEYS = ("rounds", "patience", "validation_fraction", "fit_constants",
                   "lift_constants", "seed")

    def __init__(
        self,
        rounds: int = 3,
        patience: int = 2,
        validation_fraction: float = 0.3,
        fit_constants: bool = True,
        lift_constants: bool = True,
        seed: int = 0,
    ):
        super().__init__()
        self.rounds = rounds
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.fit_constants = fit_constants
        self.lift_constants = lift_constants
        self.seed = seed
        # Caps on reply length keep a small local model from rambling (about 6 tokens/s on
        # 2 cores, and a 1.5B model loops without a frequency penalty); JSONAdapter repairs a
        # reply cut off at the cap, and the writer's cap leaves room for about 40 lines.
        self.analyze = dspy.Predict(AnalyzeAttributes, max_tokens=ANALYSIS_MAX_TOKENS,
                                    frequency_penalty=0.5)
        self.write = dspy.Predict(WriteScoringFunction, max_tokens=CODE_MAX_TOKENS)

    def forward(self, description: str, schema: str, profile: str, fit_rows) -> dspy.Prediction:
        with track_usage() as usage:
            analysis = self._analyze(description, schema, profile)
            fitting, validation = split_rows(fit_rows, self.validation_fraction, self.seed)
            attempts: list[Attempt] = []
            best: Attempt | None = None
            stale = 0
            for round_number in range(1, self.rounds + 1):
                attempt = self._attempt(round_number, schema, analysis, attempts, fitting,
                                        validation)
                attempts.append(attempt)
                if attempt.ok and (best is None or attempt.valid_rho > best.valid_rho):
                    best, stale = attempt, 0
                else:
                    stale += 1
                if stale >= self.patience:
                    break
        function = self._final_function(best, fit_rows)
        calls, tokens = _usage_totals(usage)
        return dspy.Prediction(
            function=function,
            code=function.source if function else None,
            analysis=analysis,
            attempts=attempts,
            lm_calls=calls,
            tokens=tokens,
        )

    # -- steps -------------------------------------------------------------------------------
    def _analyze(self, description: str, schema: str, profile: str) -> str:
        try:
            return self.analyze(
                description=description, attribute_schema=schema, profile=profile
            ).analysis
        except Exception as exc:  # an unparseable reply must not end the task
            if is_fatal_lm_error(exc):
                raise  # a bad key or an unknown model: every later call would fail the same way
            return f"(no analysis: the language model's reply could not be used: {_short(exc)})"

    def _attempt(self, round_number, schema, analysis, attempts, fitting, validation) -> Attempt:
        earlier = {a.raw_source for a in attempts if a.raw_source}
        config: dict = {}
        for _ in range(2):
            marker = history_marker(self.write)
            try:
                reply = self.write(
                    attribute_schema=schema,
                    analysis=analysis,
                    previous_attempts=render_attempts(attempts),
                    **({"config": config} if config else {}),
                )
                source = code_text(reply.code)
            except Exception as exc:
                if is_fatal_lm_error(exc):
                    raise  # a bad key or an unknown model: every later call would fail the same
                return Attempt(round_number, "", False,
                               feedback=reply_feedback(exc, reply_since(self.write, marker)))
            if source.strip() not in earlier or config:
                break
            # The same code again (temperature 0 tends to repeat itself whatever the feedback
            # says): ask once more, sampling, instead of spending the attempt on known code.
            config = {"rollout_id": round_number, "temperature": RESAMPLE_TEMPERATURE}
        if was_cut_off(reply_since(self.write, marker)):
            # JSONAdapter repairs the cut JSON, so the code may even parse: it is still incomplete.
            return Attempt(round_number, "", False, feedback=reply_feedback(None, None, True))
        if not source.strip():
            return Attempt(round_number, "", False,
                           feedback="The code field was empty: write def score(attrs): ...")
        attempt = self._judge(round_number, source, fitting, validation)
        attempt.raw_source = source.strip()
        return attempt

    def _judge(self, round_number, source, fitting, validation) -> Attempt:
        source = tidy_source(source)  # typing imports and annotations would only be refused
        source, undeclared = declare_missing_params(source)
        source, unread = drop_unused_params(source)  # numbers no row could fit
        try:
            function = ScoringFunction(source)
        except UnsafeCodeError as exc:
            return Attempt(round_number, source, False,
                           feedback=f"Rejected by the safety check: {exc}. Rewrite it within the "
                           "allowed syntax.")
        written = self._fitted(function, fitting)
        lifted = self._lifted(function, fitting)
        fit, valid = evaluate_function(written, fitting), evaluate_function(written, validation)
        note = ""
        if lifted is not None:
            lifted_fit = evaluate_function(lifted, fitting)
            lifted_valid = evaluate_function(lifted, validation)
            if lifted_fit.ok and lifted_valid.ok and (
                    not valid.ok or lifted_valid.rho > valid.rho):
                note = (f"Its literal weights were fitted as PARAMS (validation rho "
                        f"{lifted_valid.rho:.3f}; as written {valid.rho:.3f}).")
                written, fit, valid = lifted, lifted_fit, lifted_valid
        if not fit.ok:
            where = f" (line {fit.line})" if fit.line else ""
            return Attempt(round_number, written.source, False,
                           feedback=f"It failed on the fit rows{where}: {fit.reason}"
                           + unknown_key_hint(fit.reason, fitting.attributes))
        parts = [f"Rank correlation (Spearman rho) {fit.rho:.3f} on fit rows"]
        if validation is not fitting:
            parts[0] += f", {valid.rho:.3f} on validation rows"
        parts[0] += "."
        if undeclared:
            parts.append(f"It read PARAMS keys it did not declare ({', '.join(undeclared)}); "
                         "they were added to PARAMS and fitted.")
        if unread:
            parts.append(f"PARAMS keys it never read were removed ({', '.join(unread)}).")
        if note:
            parts.append(note)
        if written.params:
            parts.append("Fitted PARAMS: " + ", ".join(
                f"{k}={v:.4g}" for k, v in written.params.items()) + ".")
        parts.extend(worst_ranked(fit.outputs, fitting, k=2))
        return Attempt(round_number, written.source, valid.ok, fit.rho,
                       valid.rho if valid.ok else -1.0, " ".join(parts))

    def _fitted(self, function: ScoringFunction, rows) -> ScoringFunction:
        """``function`` with its declared PARAMS fitted on ``rows`` (as it is when it has none)."""
        if self.fit_constants and function.params:
            try:
                return function.fit_params(rows, seed=self.seed)[0]
            except Exception:  # a failing form is judged by the caller, with its own message
                pass
        return function

    def _lifted(self, function: ScoringFunction, rows) -> ScoringFunction | None:
        """The function with its literal weights declared as PARAMS and fitted on ``rows``; None
        when it declares PARAMS already, has no literal weights, or lifting is switched off."""
        if not (self.fit_constants and self.lift_constants) or function.params:
            return None
        source = lift_constants(function.source)
        if source is None:
            return None
        try:
            return self._fitted(ScoringFunction(source), rows)
        except UnsafeCodeError:
            return None

    def _final_function(self, best: Attempt | None, fit_rows) -> ScoringFunction | None:
        if best is None:
            return None
        # Refit on all fit rows; a failing refit keeps the constants fitted on the fitting part.
        return self._fitted(ScoringFunction(best.source, tuple(fit_rows.attributes)), fit_rows)


def split_rows(rows, validation_fraction: float, seed: int):
    """(fitting part, validation part) of the fit rows; both are ``rows`` when there are few."""
    n = len(rows)
    if n < MIN_ROWS_TO_SPLIT or validation_fraction <= 0:
        return rows, rows
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(3, int(round(validation_fraction * n)))
    return rows.subset(np.sort(order[n_valid:])), rows.subset(np.sort(order[:n_valid]))


def render_attempts(attempts: list[Attempt], keep: int = 3) -> str:
    """The last ``keep`` attempts as text for the writer: code, score and feedback."""
    if not attempts:
        return ""
    blocks = []
    for attempt in attempts[-keep:]:
        score = (f"validation rho {attempt.valid_rho:.3f}" if attempt.ok else "failed")
        code = attempt.source.strip() or "(no code)"
        blocks.append(f"Attempt {attempt.round} ({score}):\n```python\n{code}\n```\n"
                      f"Feedback: {attempt.feedback}")
    return "\n\n".join(blocks)


def unknown_key_hint(reason: str, attributes) -> str:
    """A hint naming the real keys when a function failed reading a key ``attrs`` lacks (a small
    model prefixes attribute names with ``w_`` or reads the target, on every retry, when the
    feedback only says ``KeyError``)."""
    found = re.search(r"KeyError: '([^']*)'", reason or "")
    if not found or found.group(1) in attributes:
        return ""
    return (f" There is no key '{found.group(1)}': the keys of attrs are exactly "
            + ", ".join(attributes) + ", and a PARAMS key must be declared in PARAMS.")


def code_text(code) -> str:
    """The source inside a ``dspy.Code`` (or a plain string), without markdown fences."""
    text = getattr(code, "code", code)
    if not isinstance(text, str):
        return ""
    text = text.strip()
    if text.startswith("```"):
        lines = text.splitlines()[1:]
        if lines and lines[-1].strip().startswith("```"):
            lines = lines[:-1]
        text = "\n".join(lines)
    return text


def reply_feedback(exc: BaseException | None, entry: dict | None, cut_off: bool = False) -> str:
    """Feedback for a write step whose reply gave no code: specific, so the next attempt can fix
    it (a reply cut off at the token limit needs a shorter function, not a different one)."""
    from dspy.utils.exceptions import LMError

    if cut_off or was_cut_off(entry):
        return ("The reply was cut off at the length limit before the function was complete. "
                "Write a shorter function: fewer lines, no comments or docstring.")
    if was_empty(entry):
        return ("The reply was empty. Answer with a JSON object whose field code holds the "
                "complete Python source of def score(attrs).")
    if isinstance(exc, LMError):  # a timeout, 429 or server error that outlasted DSPy's retries
        return (f"The language model call failed ({type(exc).__name__}: "
                f"{first_line(getattr(exc, 'message', '') or str(exc))}); nothing was written. "
                "Write the function again.")
    return (f"The reply could not be read ({_short(exc)}). Answer with one JSON object whose "
            "field code holds the complete Python source of def score(attrs), nothing else.")


def _usage_totals(tracker) -> tuple[int, int]:
    calls = tokens = 0
    for entries in tracker.usage_data.values():
        calls += len(entries)
        for entry in entries:
            total = entry.get("total_tokens")
            if total is None:
                total = (entry.get("prompt_tokens") or 0) + (entry.get("completion_tokens") or 0)
            tokens += int(total or 0)
    return calls, tokens


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."
