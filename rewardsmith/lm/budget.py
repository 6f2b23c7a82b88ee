"""A hard budget on LM use (calls, tokens, wall clock) and the guard that enforces it.

``LMGuard`` is a DSPy callback: DSPy calls ``on_lm_start`` before every LM call of any LM (the
program's, GEPA's reflection LM, MIPRO's proposer), in every worker thread. It refuses the call
that would go past the budget by raising ``BudgetExhausted`` before the call is made.

Every call counts, including one DSPy answers from its cache: then a resumed run (which replays
the interrupted run's calls from the cache) stops at the same point as an uninterrupted one, and
a compile's result does not depend on what the cache happens to hold. Real calls are never more
than the counted ones.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dspy.utils.callback import BaseCallback

from .faults import describe_lm_error, first_line, is_fatal_lm_error
from .usage import tokens_of


class StopRun(BaseException):  # noqa: N818 (a signal, like KeyboardInterrupt, not an error)
    """Stops a whole compile from inside an LM call.

    A BaseException on purpose: DSPy's evaluators, GEPA and BootstrapFewShot turn an ordinary
    exception inside a program run into a failed example (score -1) and go on making calls; this
    one passes through them all to ``compile``, which catches it.
    """


class BudgetExhausted(StopRun):
    """The LM budget is spent; ``reason`` says which limit, the counts say how far we got."""

    def __init__(self, reason: str, calls: int, tokens: int, seconds: float):
        super().__init__(reason)
        self.reason, self.calls, self.tokens, self.seconds = reason, calls, tokens, seconds


class LMRefused(StopRun):
    """The language model refused a call in a way every further call would repeat (a bad key, an
    unknown model); ``error`` is DSPy's exception, ``message`` one line with the fix."""

    def __init__(self, error: BaseException):
        self.error = error
        self.message = describe_lm_error(error)
        super().__init__(self.message)


class LMUnavailable(StopRun):
    """Several LM calls in a row failed after their retries (a server that stays down, a network
    that is gone): going on would only score every remaining task -1, one timeout at a time."""

    def __init__(self, failures: int, error: BaseException, calls: int, tokens: int,
                 seconds: float):
        self.error, self.calls, self.tokens, self.seconds = error, calls, tokens, seconds
        said = first_line(getattr(error, "message", None) or str(error))
        self.reason = (f"the language model failed {failures} calls in a row, each after its "
                       f"retries (last: {type(error).__name__}: {said}); check that the server "
                       "is up and reachable, then resume")
        super().__init__(self.reason)


@dataclass(frozen=True)
class LMBudget:
    """Limits on LM use; None means no limit."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None

    def __post_init__(self):
        for name in ("max_calls", "max_tokens", "max_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number (or None for no limit), "
                                 f"not {value!r}")

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.max_calls, self.max_tokens, self.max_seconds))


class LMGuard(BaseCallback):
    """Counts LM calls and tokens; refuses the call past the budget; turns a fatal LM error into
    ``LMRefused`` so that it stops the run instead of becoming one failed example after another,
    and ``max_failures_in_a_row`` failed calls (each already retried by DSPy) into
    ``LMUnavailable``.
    """

    def __init__(self, budget: LMBudget | None = None, clock=time.monotonic,
                 max_failures_in_a_row: int = 3):
        self.budget = budget or LMBudget()
        self.clock = clock
        self.max_failures_in_a_row = max_failures_in_a_row
        self.started = clock()
        self.calls = 0
        self.tokens = 0
        self.failures_in_a_row = 0
        self._lms: dict[str, object] = {}
        self._lock = threading.Lock()

    @property
    def seconds(self) -> float:
        return self.clock() - self.started

    def on_lm_start(self, call_id, instance, inputs):
        with self._lock:
            reason = self._spent()
            if reason:
                raise BudgetExhausted(reason, self.calls, self.tokens, self.seconds)
            self.calls += 1  # counted now, so parallel threads cannot overshoot together
            self._lms[call_id] = instance

    def on_lm_end(self, call_id, outputs, exception):
        with self._lock:
            lm = self._lms.pop(call_id, None)
        if exception is not None:
            if is_fatal_lm_error(exception):
                raise LMRefused(exception) from exception
            if isinstance(exception, StopRun):
                return  # a stop raised by this guard at the start of the call
            with self._lock:
                self.failures_in_a_row += 1
                failures = self.failures_in_a_row
            if failures >= self.max_failures_in_a_row:
                raise LMUnavailable(failures, exception, self.calls, self.tokens,
                                    self.seconds) from exception
            return
        tokens = _call_tokens(lm, outputs)
        with self._lock:
            self.tokens += tokens
            self.failures_in_a_row = 0

    def _spent(self) -> str | None:
        b = self.budget
        if b.max_calls is not None and self.calls >= b.max_calls:
            return f"the LM call budget ({b.max_calls} calls) is spent"
        if b.max_tokens is not None and self.tokens >= b.max_tokens:
            return f"the token budget ({b.max_tokens:,} tokens) is spent"
        if b.max_seconds is not None and self.seconds >= b.max_seconds:
            return f"the time budget ({_duration(b.max_seconds)}) is spent"
        return None


def _call_tokens(lm, outputs) -> int:
    """Tokens of the call that returned ``outputs``, from its entry in the LM's history (the
    callback is not given the usage). A reply from the cache reports no usage to DSPy; its
    stored response still holds the original counts, which we count (see module docstring)."""
    for entry in reversed(getattr(lm, "history", None) or []):
        if entry.get("outputs") is outputs:
            return _entry_tokens(entry)
    return 0


def _entry_tokens(entry: dict) -> int:
    usage = entry.get("usage") or {}
    if not usage:
        response = entry.get("response")
        stored = getattr(response, "usage", None)
        if stored is not None and not isinstance(stored, dict):
            usage = {"total_tokens": getattr(stored, "total_tokens", None),
                     "prompt_tokens": getattr(stored, "input_tokens", None),
                     "completion_tokens": getattr(stored, "output_tokens", None)}
        elif isinstance(stored, dict):
            usage = stored
    return tokens_of(usage)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
