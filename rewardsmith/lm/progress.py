"""A DSPy callback that shows each LM call on stderr: long local runs should never look stuck."""

from __future__ import annotations

import sys
import threading
import time

from dspy.utils.callback import BaseCallback


class LMProgress(BaseCallback):
    """Prints one line per finished LM call: its number, duration and outcome."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.calls = 0
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_lm_start(self, call_id, instance, inputs):
        with self._lock:
            self._started[call_id] = time.monotonic()

    def on_lm_end(self, call_id, outputs, exception):
        with self._lock:
            self.calls += 1
            started = self._started.pop(call_id, time.monotonic())
            number = self.calls
        status = f"failed: {type(exception).__name__}" if exception else "done"
        print(f"  [lm] call {number} {status} in {time.monotonic() - started:.1f} s",
              file=self.stream, flush=True)
