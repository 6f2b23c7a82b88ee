"""Did the language model take part? A record of one program run's LM calls, and the stop for an
LM that was never reachable.

A program run goes on when a call fails (the statistical candidates still answer), which is
right for a reply that breaks midway through a run and wrong for a server that was never there:
then every call waits out its retries and the "answer" is a ridge fit that looks like the
product. So:

- the first call to an LM that has not answered once in this process and cannot connect (or
  times out) after its retries stops the run with ``LMUnreachable``, naming the model, the URL
  and the fix;
- every later failure is counted in a ``CallRecord``, and the run's result says how many calls
  failed and whether any LM answer went into it (``lm_note``).
"""

from __future__ import annotations

import contextlib
import threading

import dspy
from dspy.utils.callback import BaseCallback

from .budget import StopRun
from .errors import LMConfigError
from .faults import first_line

_answered: set[tuple[str, str | None]] = set()  # (model, URL) of every LM that answered once
_answered_lock = threading.Lock()


def lm_key(lm) -> tuple[str, str | None]:
    kwargs = getattr(lm, "kwargs", None) or {}
    return str(getattr(lm, "model", lm)), kwargs.get("api_base")


def cannot_connect(exc: BaseException) -> bool:
    """A fault before any reply: nothing listening, no route, DNS, TLS, or no reply in time."""
    from dspy.utils.exceptions import LMTimeoutError, LMTransportError

    return isinstance(exc, (LMTransportError, LMTimeoutError))


class LMUnreachable(StopRun):
    """The first call to a language model could not reach it. A StopRun, so the program's
    per-step ``except Exception`` does not turn it into a failed step."""

    def __init__(self, lm, error: BaseException):
        model, url = lm_key(lm)
        said = first_line(getattr(error, "message", None) or str(error))
        where = f"{model} at {url}" if url else model
        fix = ("start the server or correct --api-base" if url else
               "check the network and the provider's status")
        self.error = error
        self.message = (f"cannot reach the language model {where} ({type(error).__name__}: "
                        f"{said}); {fix}, or use the embedded model with --lm local")
        super().__init__(self.message)


class CallRecord(BaseCallback):
    """Counts one program run's LM calls and the ones that failed after their retries (a DSPy
    callback, installed around the run)."""

    def __init__(self):
        self.calls = 0
        self.failed = 0
        self.last_error: BaseException | None = None
        self._lms: dict[str, object] = {}
        self._lock = threading.Lock()

    def on_lm_start(self, call_id, instance, inputs):
        with self._lock:
            self.calls += 1
            self._lms[call_id] = instance

    def on_lm_end(self, call_id, outputs, exception):
        with self._lock:
            lm = self._lms.pop(call_id, None)
        if exception is None:
            with _answered_lock:
                _answered.add(lm_key(lm))
            return
        if isinstance(exception, StopRun):  # a stop from inside the call: not the LM's fault
            return
        with self._lock:
            self.failed += 1
            self.last_error = exception
        with _answered_lock:
            never_answered = lm_key(lm) not in _answered
        if never_answered and cannot_connect(exception):
            raise LMUnreachable(lm, exception) from exception

    def note(self) -> str:
        """"" when every call was answered; else what failed, for the result and the user."""
        return lm_note(self.calls, self.failed, self.last_error)


@contextlib.contextmanager
def recording_calls():
    """A ``CallRecord`` of the LM calls made inside the ``with`` block (this thread's)."""
    record = CallRecord()
    with dspy.context(callbacks=[*dspy.settings.get("callbacks", []), record]):
        yield record


@contextlib.contextmanager
def unreachable_as_error():
    """Turns ``LMUnreachable`` (a StopRun, so that no step swallows it) into the ordinary
    ``LMConfigError`` a caller of the Python API expects."""
    try:
        yield
    except LMUnreachable as exc:
        raise LMConfigError(exc.message) from exc.error


def lm_note(calls: int, failed: int, last_error: BaseException | str | None = None) -> str:
    if not failed:
        return ""
    last = (last_error if isinstance(last_error, str) else
            f"{type(last_error).__name__}: "
            f"{first_line(getattr(last_error, 'message', None) or str(last_error))}"
            if last_error is not None else "")
    which = f"the LM failed {failed} of {calls} calls" + (f" (last: {last})" if last else "")
    return f"statistical answer only: {which}" if failed >= calls else which
