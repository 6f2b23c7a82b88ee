"""Many candidate functions on one table, in parallel sandbox workers.

``SandboxPool`` owns a few ``Sandbox`` objects, each with its own warm worker process and the same
limits. ``evaluate_many`` packs the table once, ships it once to each worker, and hands candidates
to whichever worker is free. One thread per worker does the handing: the threads only wait on
pipes, and all the scoring runs in the worker processes, in parallel.

A candidate that hangs or eats memory is killed (its worker is restarted, with the table shipped
again) while the others go on; its slot in the result holds the exception. ``close()`` kills every
worker and waits for it, so no process outlives the pool.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator

import numpy as np

from .checks import UnsafeCodeError, check_source
from .runner import Rows, Sandbox, SandboxError


def default_workers() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class SandboxPool:
    """Parallel sandbox workers for evaluating many scoring functions on one table.

    ``workers`` defaults to the number of usable CPUs. ``timeout_s``, ``cpu_s`` and ``memory_mb``
    are the limits of each call and each worker, as for ``Sandbox``. Workers start on first use and
    stay warm between ``evaluate_many`` calls; a closed pool cannot be used again. A context
    manager: leaving the ``with`` block closes it. ``columns=True`` makes every worker a column-mode
    one (``Sandbox(columns=True)``).
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 10.0, cpu_s: float = 10.0,
                 memory_mb: int = 1024, *, columns: bool = False):
        workers = default_workers() if workers is None else int(workers)
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.timeout_s = timeout_s
        self.cpu_s = cpu_s
        self.memory_mb = memory_mb
        self.columns = columns
        self._sandboxes = [Sandbox(timeout_s=timeout_s, cpu_s=cpu_s, memory_mb=memory_mb,
                                   columns=columns)
                           for _ in range(workers)]
        self._closed = False
        self._busy = threading.Lock()  # one evaluate_many at a time
        # Free workers for ``evaluate``, the first (warmest) on top: one thread reuses one worker.
        self._idle = list(reversed(self._sandboxes))
        self._idle_changed = threading.Condition()

    # -- public ------------------------------------------------------------------------------
    def evaluate_many(self, sources, columns, matrix) -> list[np.ndarray | Exception]:
        """Run every source's ``score`` on every row of ``matrix`` (n x len(columns)).

        Returns one entry per source, in order: the outputs (float64, shape (n,)) or the exception
        that candidate raised (``UnsafeCodeError``, ``SandboxTimeout``, ``SandboxCrash`` or
        ``SandboxError``). A bad ``matrix`` or ``columns`` raises ``ValueError`` at once.
        """
        sources = list(sources)
        rows = Rows.pack(columns, matrix)
        results: list[np.ndarray | Exception | None] = [None] * len(sources)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i, source in enumerate(sources):
            try:
                check_source(source)  # here, so a rejected candidate costs no worker time
            except UnsafeCodeError as exc:
                results[i] = exc
            else:
                todo.put(i)
        with self._busy:
            if self._closed:
                raise RuntimeError("the SandboxPool is closed")
            n_threads = min(self.workers, todo.qsize())
            threads = [
                threading.Thread(target=self._drain, args=(sandbox, todo, sources, rows, results),
                                 name=f"sandbox-pool-{k}", daemon=True)
                for k, sandbox in enumerate(self._sandboxes[:n_threads])
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.2)  # in short waits, so that Ctrl-C is seen at once
            except BaseException:
                self.close()  # kills the workers: every thread's pending read ends at once
                for thread in threads:
                    thread.join()
                raise
        for i, result in enumerate(results):
            if result is None:
                results[i] = SandboxError("not evaluated: the pool was closed")
        return results  # type: ignore[return-value]

    def evaluate(self, source, columns, matrix, param_sets=None, *, checked: bool = False):
        """``Sandbox.evaluate`` on a free worker: many threads (DSPy's ``num_threads``), each
        scoring its own function, run in parallel, up to ``workers`` at once; more wait."""
        if not checked:
            check_source(source)
        rows = Rows.pack(columns, matrix)
        sandbox = self._borrow()
        try:
            return sandbox.evaluate_packed(source, rows, param_sets)
        finally:
            with self._idle_changed:
                self._idle.append(sandbox)
                self._idle_changed.notify()

    @contextlib.contextmanager
    def borrowed(self) -> Iterator[Sandbox]:
        """One free worker for a series of calls (e.g. a table's chunk scored by columns, then
        some of its rows one by one), so that the rows it caches are used again; other threads
        get the other workers meanwhile."""
        sandbox = self._borrow()
        try:
            yield sandbox
        finally:
            with self._idle_changed:
                self._idle.append(sandbox)
                self._idle_changed.notify()

    def worker_pids(self) -> list[int]:
        """Process ids of the workers now running (for monitoring)."""
        return [sandbox.pid for sandbox in self._sandboxes if sandbox.pid is not None]

    def close(self) -> None:
        """Kill every worker and wait for it. Idempotent; safe from any thread."""
        self._closed = True
        for sandbox in self._sandboxes:
            sandbox.kill_now()  # all at once, before waiting for any
        for sandbox in self._sandboxes:
            # for good: a thread between two candidates must not start a new worker
            sandbox.close(for_good=True)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

    # -- internals ---------------------------------------------------------------------------
    def _borrow(self) -> Sandbox:
        with self._idle_changed:
            while not self._idle:
                if self._closed:
                    raise SandboxError("the SandboxPool is closed")
                self._idle_changed.wait(0.2)
            return self._idle.pop()

    def _drain(self, sandbox: Sandbox, todo, sources, rows: Rows, results) -> None:
        while not self._closed:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[i] = sandbox.evaluate_packed(sources[i], rows)
            except SandboxError as exc:
                results[i] = exc
            except Exception as exc:  # noqa: BLE001  (a worker protocol fault: that candidate's)
                results[i] = SandboxError(f"{type(exc).__name__}: {exc}")


_default: SandboxPool | None = None
_default_lock = threading.Lock()


def default_sandbox() -> SandboxPool:
    """The process-wide sandbox used when none is passed explicitly: a pool with one worker per
    usable CPU, started as they are needed, so one thread uses one warm worker and DSPy's
    threads score in parallel."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SandboxPool()
        return _default


_default_columns: SandboxPool | None = None


def default_column_pool() -> SandboxPool:
    """The process-wide pool of column-mode workers (``columns=True``), for scoring big tables;
    kept apart from ``default_sandbox()`` so that its workers stay free of numpy."""
    global _default_columns
    with _default_lock:
        if _default_columns is None:
            _default_columns = SandboxPool(columns=True)
        return _default_columns
