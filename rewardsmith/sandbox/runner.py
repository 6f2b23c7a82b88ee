"""Runs checked scoring code in a separate, limited, killable process.

One ``Sandbox`` owns one warm worker process (``sandbox/worker.py``). A call sends the code and a
key for the rows; rows are shipped once per table and cached in the worker, so evaluating many
candidates (or many parameter sets while fitting constants) on the same rows costs only the
scoring itself. The worker gets:

- an empty environment (no API keys or tokens reach it) and ``python -I -S`` (no site, no user
  paths);
- an address-space limit (memory) and a per-call CPU-time limit, set inside the worker;
- a wall-clock limit enforced here: past it the whole process group is SIGKILLed and a fresh worker
  is started on the next call. A thread cannot be killed; a process can.

``Sandbox(columns=True)`` adds column mode (``evaluate_columns``: ``score`` called once with whole
columns as numpy arrays, see ``worker_columns.py``); only such a worker imports numpy.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .checks import check_source

WORKER_PATH = Path(__file__).with_name("worker.py")


class SandboxError(RuntimeError):
    """The candidate failed while running. ``line`` is the line in its source (0 when unknown)."""

    def __init__(self, message: str, line: int = 0):
        self.reason = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class SandboxTimeout(SandboxError):
    """The candidate ran past the wall-clock limit and was killed."""


class SandboxCrash(SandboxError):
    """The worker died: CPU-time or memory limit, or a crash of the interpreter."""


class TextColumn(str):
    """A column name whose values are text: the matrix holds codes (0, 1, ...; NaN where the value
    is missing) and ``levels[code]`` is the text ``score`` receives (None where missing). A column
    list carries its text columns' levels this way through every slice of the matrix."""

    levels: tuple[str, ...]

    def __new__(cls, name: str, levels) -> TextColumn:
        column = super().__new__(cls, name)
        column.levels = tuple(str(level) for level in levels)
        return column

    def __reduce__(self):
        return TextColumn, (str(self), self.levels)


class Rows:
    """A table packed for the worker: column names, row count, float64 column-major bytes, the
    levels of text columns, and a key (hash of all that) under which the worker caches it."""

    __slots__ = ("columns", "n", "payload", "levels", "key")

    def __init__(self, columns: list[str], n: int, payload: bytes,
                 levels: dict[str, list[str]] | None = None):
        self.columns = columns
        self.n = n
        self.payload = payload
        self.levels = levels or {}
        described = json.dumps([columns, self.levels]).encode()
        self.key = hashlib.blake2b(payload + described, digest_size=16).hexdigest()

    @classmethod
    def pack(cls, columns, matrix) -> Rows:
        matrix = np.ascontiguousarray(np.asarray(matrix, dtype=np.float64).T)  # column-major
        levels = {str(c): list(c.levels) for c in columns if isinstance(c, TextColumn)}
        columns = [str(c) for c in columns]
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D (rows x columns), not of shape {matrix.T.shape}")
        if matrix.shape[0] != len(columns):
            raise ValueError(f"matrix has {matrix.shape[0]} columns, {len(columns)} names given")
        return cls(columns, matrix.shape[1], matrix.tobytes(), levels)


class Sandbox:
    """A warm, isolated worker process for evaluating scoring functions on batches of rows.

    ``timeout_s`` is the wall-clock limit of one call, ``cpu_s`` its CPU-time limit and
    ``memory_mb`` the worker's address-space limit. ``columns=True`` gives the worker numpy and
    column mode (``evaluate_columns``). Thread-safe: calls are serialised.
    """

    def __init__(self, timeout_s: float = 10.0, cpu_s: float = 10.0, memory_mb: int = 1024,
                 *, columns: bool = False):
        self.timeout_s = timeout_s
        self.cpu_s = cpu_s
        self.memory_mb = memory_mb
        self.columns = columns
        self._proc: subprocess.Popen | None = None
        self._loaded: set[str] = set()
        self._lock = threading.Lock()
        self._final = False  # set by close(for_good=True): never start a worker again

    # -- public ------------------------------------------------------------------------------
    def evaluate(
        self,
        source: str,
        columns: list[str] | tuple[str, ...],
        matrix: np.ndarray,
        param_sets: list[dict[str, float]] | None = None,
        *,
        checked: bool = False,
    ) -> np.ndarray:
        """Run ``score`` on every row of ``matrix`` (n x len(columns)).

        Returns shape (n,) or, with ``param_sets``, (len(param_sets), n). Raises
        ``UnsafeCodeError`` (static check), ``SandboxTimeout``, ``SandboxCrash`` or
        ``SandboxError`` (the code raised, or returned a non-number).
        """
        if not checked:
            check_source(source)
        return self.evaluate_packed(source, Rows.pack(columns, matrix), param_sets)

    def evaluate_packed(self, source: str, rows: Rows, param_sets=None) -> np.ndarray:
        """``evaluate`` on rows already packed (a pool packs a table once for all workers).
        The source must have passed ``check_source``."""
        return self._evaluate(source, rows, param_sets, by_columns=False)

    def evaluate_columns(self, source: str, rows: Rows, param_sets=None) -> np.ndarray:
        """Call ``score`` once with whole columns (``attrs = {name: float64 array}``).

        Same results shape as ``evaluate_packed``. Raises ``SandboxError`` when the function does
        not work on columns (an ``if`` statement on a column, ``max`` of one iterable, a result
        that is not n floats, ...) or this sandbox was made without ``columns=True``; the caller
        then scores row by row.
        Where a float would raise (x / 0, log(0), overflow) numpy raises ``FloatingPointError``:
        the caller then scores those rows row by row, and rows with inf/NaN inputs too. The
        source must have passed ``check_source``.
        """
        if not self.columns:
            raise SandboxError("this sandbox has no column mode; make it with columns=True")
        return self._evaluate(source, rows, param_sets, by_columns=True)

    def drop(self, rows: Rows) -> None:
        """Let the worker forget ``rows`` (it caches a few tables); streaming callers free each
        chunk this way. A no-op when the worker does not hold them."""
        with self._lock:
            if rows.key not in self._loaded or self._proc is None or self._proc.poll() is not None:
                return
            self._loaded.discard(rows.key)
            try:
                self._roundtrip({"op": "drop", "key": rows.key}, b"", timeout=self.timeout_s)
            except SandboxError:
                pass  # the worker died: it holds nothing any more, and the next call restarts it

    def _evaluate(self, source, rows, param_sets, *, by_columns: bool) -> np.ndarray:
        with self._lock:
            header = {"op": "eval", "key": rows.key, "source": source,
                      "param_sets": param_sets, "cpu_s": self.cpu_s}
            if by_columns:
                header["columns"] = True
            reply, data = self._request_with_rows(header, rows)
        if not reply.get("ok"):
            raise SandboxError(reply.get("error", "unknown error"), reply.get("line", 0))
        out = np.frombuffer(data, dtype=np.float64).reshape(reply["shape"])
        return out if param_sets is not None else out[0]

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def kill_now(self) -> None:
        """Kill the worker without waiting for a call in progress (which then raises
        ``SandboxCrash``); ``close`` waits for it afterwards."""
        self._signal_kill()

    def close(self, *, for_good: bool = False) -> None:
        """Kill the worker and wait for it. A call running in another thread is not waited for:
        its worker dies at once and the call raises ``SandboxCrash``. A later call starts a new
        worker, unless ``for_good``: then it raises ``SandboxError``."""
        if for_good:
            self._final = True
        self._signal_kill()
        with self._lock:
            self._kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _request_with_rows(self, header, rows: Rows):
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        key, columns, n, payload = rows.key, rows.columns, rows.n, rows.payload
        if key not in self._loaded:
            load = {"op": "load", "key": key, "columns": columns, "n": n, "nbytes": len(payload)}
            if rows.levels:
                load["levels"] = rows.levels
            try:
                reply, _ = self._roundtrip(load, payload, timeout=max(self.timeout_s, 30.0))
            except SandboxCrash as exc:  # not the candidate's fault: say what was being done
                raise SandboxCrash(
                    f"could not load {n} rows x {len(columns)} columns into the sandbox "
                    f"({exc}); with memory_mb={self.memory_mb}, pass fewer rows or raise it"
                ) from None
            if not reply.get("ok"):
                raise SandboxCrash(f"could not load rows into the sandbox: {reply.get('error')}")
            self._loaded.add(key)
        reply, data = self._roundtrip(header, b"", timeout=self.timeout_s)
        if reply.get("missing_rows"):  # the worker dropped the table from its small cache
            self._loaded.discard(key)
            return self._request_with_rows(header, rows)
        return reply, data

    def _signal_kill(self) -> None:
        # Without the lock, which a call in progress holds for up to timeout_s: the kill makes
        # that call's read end at once, and it tidies up (reaps, closes pipes) under the lock.
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _start(self) -> None:
        if self._final:
            raise SandboxError("the sandbox was closed for good (its pool is closed)")
        self._kill()
        argv = [sys.executable, "-I", "-S", str(WORKER_PATH), str(self.memory_mb)]
        if self.columns:
            argv.append(_numpy_dir())  # the only path the worker gets: -I -S leaves out the rest
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},  # nothing secret is inherited
            cwd="/",
            start_new_session=True,  # its own process group, so a kill takes everything with it
            close_fds=True,
        )
        self._loaded.clear()
        _LIVE.add(self)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        self._loaded.clear()
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        proc.wait()

    def _roundtrip(self, header: dict, payload: bytes, timeout: float):
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        if payload:
            header = dict(header, nbytes=len(payload))
        data = json.dumps(header).encode()
        try:
            proc.stdin.write(struct.pack("<I", len(data)) + data + payload)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._kill()
            raise SandboxCrash("the sandbox worker died before the call") from None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        try:
            size = struct.unpack("<I", self._read(fd, 4, deadline))[0]
            reply = json.loads(self._read(fd, size, deadline))
            body = self._read(fd, reply.get("nbytes", 0), deadline)
        except TimeoutError:
            self._kill()
            raise SandboxTimeout(
                f"timed out after {timeout:g} s (wall clock); the process was killed"
            ) from None
        except EOFError:
            code = proc.wait()
            self._kill()
            raise SandboxCrash(_describe_exit(code)) from None
        return reply, body

    @staticmethod
    def _read(fd: int, n: int, deadline: float) -> bytes:
        chunks, remaining = [], n
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def _numpy_dir() -> str:
    """The directory numpy is imported from here, for a column-mode worker."""
    return str(Path(np.__file__).resolve().parent.parent)


def _describe_exit(code: int) -> str:
    if code == -signal.SIGXCPU:
        return "CPU time limit exceeded; the process was killed"
    if code == -signal.SIGKILL:
        return "the process was killed (memory or time limit)"
    if code is not None and code < 0:
        return f"the sandbox process died from signal {signal.Signals(-code).name}"
    return f"the sandbox process exited unexpectedly (exit code {code}); memory limit likely"


_LIVE: set[Sandbox] = set()


@atexit.register
def _close_all() -> None:
    for sandbox in list(_LIVE):
        sandbox._kill()
