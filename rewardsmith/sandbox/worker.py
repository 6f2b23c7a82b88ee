"""The sandbox worker: a separate Python process that runs already-checked scoring code.

Started by ``sandbox.runner`` as ``python -I -S worker.py`` with an empty environment (no API keys),
its own session, and stdin/stdout as the only channel. It imports nothing outside the standard
library, so it starts in a few milliseconds and carries none of the parent's state.

Protocol (all integers little-endian): each message is a 4-byte header length, a JSON header, and a
payload whose byte length the header gives. Requests:

- ``{"op": "load", "key": K, "columns": [...], "n": N, "nbytes": B, "levels": {...}}`` + float64
  column-major matrix: caches the rows as a list of dicts under K (a hash chosen by the parent).
  ``levels`` (optional) maps each text column to its texts: that column holds codes into them.
- ``{"op": "eval", "key": K, "source": S, "param_sets": [dict, ...] | null, "cpu_s": T}``:
  runs ``score`` on every cached row, once per parameter set (``null`` = the source's own values),
  and answers with float64 outputs. With ``"columns": true`` (column mode, below) ``score`` is
  called once per parameter set with ``attrs = {column: float64 array}``.
- ``{"op": "drop", "key": K}``: forgets the rows cached under K (a caller streaming a big table
  frees each chunk as soon as it is scored).

Replies: ``{"ok": true, "shape": [sets, n]}`` + payload, or
``{"ok": false, "error": E, "line": L}``.
Column mode: started as ``worker.py MEMORY_MB NUMPY_DIR``, the worker imports numpy from
NUMPY_DIR and ``worker_columns.py`` (beside this file) during setup, before the audit hook and the
limits; without NUMPY_DIR it imports neither.

The worker dies (and the parent restarts it) when a limit is hit: SIGXCPU for CPU time, MemoryError
for the address-space limit, SIGKILL from the parent for wall-clock time.

Second wall, for code that somehow passed the static check: the scoring code sees only a few
builtins (``__import__`` hands out math alone), its annotations are never evaluated, and after setup
an audit hook refuses every event that reaches outside the process (open, import, os.*,
subprocess, sockets, ctypes).
"""

import __future__  # noqa: I001  (the module, for its compiler flag)
import json
import math
import os
import resource
import struct
import sys
import traceback
from array import array

_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list",
    "max", "min", "pow", "range", "reversed", "round", "sorted", "str", "sum", "tuple", "zip",
    "ArithmeticError", "Exception", "KeyError", "OverflowError", "TypeError", "ValueError",
    "ZeroDivisionError",
)


def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):
    # `import math` compiles to a call of __import__; only math is reachable that way.
    if name == "math" and not level:
        return math
    raise ImportError(f"import of {name!r} is not allowed")


def _builtins():
    import builtins

    table = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    table["__import__"] = _safe_import
    return table


_BUILTINS = _builtins()
_MAX_ROW_SETS = 8  # cached tables; old ones are dropped first
_MAX_COMPILED = 32
_LOAD_CPU_S = 60  # the parent's wall-clock limit on a load is max(timeout_s, 30 s)


def _read_exact(stream, n):
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _send(out, header, payload=b""):
    data = json.dumps(header).encode()
    out.write(struct.pack("<I", len(data)) + data + payload)
    out.flush()


def _error_line(exc):
    # Walk the traceback without traceback.extract_tb, which would read source files via linecache.
    line = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<scoring-function>":
            line = lineno
    if not line and isinstance(exc, SyntaxError):
        return exc.lineno or 0
    return line


# Annotations are never evaluated (PEP 563), whatever the static check let through.
_COMPILE_FLAGS = __future__.annotations.compiler_flag


def _compile(source, builtins=None, gate=None):
    namespace = {"__builtins__": builtins or _BUILTINS, "__name__": "scoring_function"}
    code = compile(source, "<scoring-function>", "exec", flags=_COMPILE_FLAGS, dont_inherit=True)
    if gate is not None:
        gate(code)  # before exec: module-level code runs there
    exec(code, namespace)
    fn = namespace.get("score")
    if not callable(fn):
        raise TypeError("the source defines no callable named score")
    return namespace, fn


def _set_params(namespace, params):
    if params is not None:
        base = namespace.get("PARAMS")
        merged = dict(base) if isinstance(base, dict) else {}
        merged.update(params)
        namespace["PARAMS"] = merged


def _run(namespace, fn, rows, params):
    _set_params(namespace, params)
    out = array("d")
    append = out.append
    for i, attrs in enumerate(rows):
        value = fn(attrs)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"score returned {type(value).__name__} for row {i}; it must return a number"
            )
        try:
            append(float(value))
        except OverflowError:
            append(math.inf if value > 0 else -math.inf)
    return out


def _build_rows(columns, n, payload, levels=None):
    """The float64 column-major payload as a list of ``{column: value}`` dicts, one per row.
    A text column (in ``levels``) holds codes: its value is ``levels[column][code]``, or None
    where the code is NaN (a missing value)."""
    if not columns:  # a function that reads no attribute still scores every row
        return [{} for _ in range(n)]
    values = array("d")
    values.frombytes(payload)
    cols = [values[j * n:(j + 1) * n] for j in range(len(columns))]
    del values
    for j, name in enumerate(columns):
        if levels and name in levels:
            texts = levels[name]
            cols[j] = [None if code != code else texts[int(code)] for code in cols[j]]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cols, strict=True)]


def _run_columns(column_mode, namespace, fn, table, params):
    _set_params(namespace, params)
    return column_mode.as_column(fn(table.attrs()), table.n)


def _rows_of(table, tables):
    """The per-row dicts of a cached table; a column-mode table builds them on first use."""
    if isinstance(table, list):
        return table
    if table.rows is None:
        try:
            table.rows = _build_rows(table.columns, table.n, table.payload, table.levels)
        except MemoryError:
            for other in tables.values():  # the other tables' row dicts can be rebuilt later
                if not isinstance(other, list):
                    other.rows = None
            table.rows = _build_rows(table.columns, table.n, table.payload, table.levels)
    return table.rows


def _column_mode(numpy_dir):
    """Import numpy and ``worker_columns`` (beside this file) while imports are still allowed."""
    # One BLAS thread: otherwise the import reserves a buffer per core, which eats into the
    # memory limit, and scoring never multiplies matrices anyway.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.dont_write_bytecode = True  # no .pyc written into the numpy installation
    paths = [os.path.dirname(os.path.abspath(__file__)), numpy_dir]
    sys.path[:0] = paths
    try:
        import worker_columns
    finally:
        del sys.path[:len(paths)]
    worker_columns.prepare()
    return worker_columns


def _limit_cpu(seconds):
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    soft = int(math.ceil(spent + seconds))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# Audit events that reach the outside world. Once the worker is set up none of them is needed, so
# even code that slipped past the static check (and got hold of os or sys through object
# internals) cannot open files, import modules, start processes or use sockets.
# (Every os.* event: system, exec, fork, posix_spawn, kill, putenv, listdir, remove, chmod, ...)
_BLOCKED_EVENTS = frozenset((
    "open", "import", "subprocess.Popen", "pty.spawn", "resource.prlimit", "sys.remote_exec",
))
_BLOCKED_PREFIXES = ("os.", "socket.", "ctypes.", "shutil.", "urllib.", "http.", "mmap.",
                     "webbrowser.", "ftplib.", "smtplib.", "sqlite3.", "tempfile.", "glob.",
                     "fcntl.")


def _audit(event, args):
    if event in _BLOCKED_EVENTS or event.startswith(_BLOCKED_PREFIXES):
        if event == "import" and args and str(args[0]).startswith("encodings."):
            return  # codec modules are loaded lazily by str/bytes conversions; they are inert
        raise PermissionError(f"{event} is not allowed in the scoring sandbox")


def main():
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    column_mode = _column_mode(sys.argv[2]) if len(sys.argv) > 2 else None
    column_builtins = column_mode.builtins_table(_BUILTINS) if column_mode else None
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file may grow, even if one were opened
    sys.setrecursionlimit(200)

    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    # Nothing the scoring code does may write into the protocol channel.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.addaudithook(_audit)  # last step of setup: from here on nothing may touch the outside

    tables = {}
    compiled = {}
    while True:
        try:
            (size,) = struct.unpack("<I", _read_exact(inp, 4))
        except EOFError:
            return
        header = json.loads(_read_exact(inp, size))
        payload = _read_exact(inp, header.get("nbytes", 0))
        op = header["op"]
        if op == "load":
            # A fresh CPU budget for building the rows: the limit left by the previous call may be
            # nearly spent, and a large table is no fault of the next candidate.
            _limit_cpu(_LOAD_CPU_S)
            columns, n, levels = header["columns"], header["n"], header.get("levels") or {}
            if column_mode is not None:
                try:  # a view of the payload; per-row dicts only when a row call needs them
                    tables[header["key"]] = column_mode.Table(columns, n, payload, levels)
                except ValueError as exc:
                    _send(out, {"ok": False, "error": f"ValueError: {exc}"})
                    continue
                while len(tables) > _MAX_ROW_SETS:
                    tables.pop(next(iter(tables)))
                _send(out, {"ok": True})
                continue
            try:
                rows = _build_rows(columns, n, payload, levels)
            except MemoryError:
                # The cached tables are what fill the memory: drop them (the parent reloads a
                # table it needs again) and try once more, rather than dying on a good candidate.
                tables.clear()
                compiled.clear()
                try:
                    rows = _build_rows(columns, n, payload, levels)
                except MemoryError:
                    _send(out, {"ok": False, "error": (
                        f"MemoryError: a table of {n} rows x {len(columns)} columns does not fit "
                        "in the sandbox's memory limit; raise memory_mb or pass fewer rows")})
                    continue
            del payload
            tables[header["key"]] = rows
            while len(tables) > _MAX_ROW_SETS:
                tables.pop(next(iter(tables)))
            _send(out, {"ok": True})
        elif op == "eval":
            table = tables.get(header["key"])
            if table is None:
                _send(out, {"ok": False, "error": "rows not loaded", "missing_rows": True})
                continue
            _limit_cpu(header.get("cpu_s", 10))
            try:
                source = header["source"]
                by_columns = bool(header.get("columns"))
                if by_columns and column_mode is None:
                    raise RuntimeError("this sandbox has no column mode")
                cache_key = ("columns", source) if by_columns else source
                entry = compiled.get(cache_key)
                if entry is None:
                    if by_columns:
                        entry = _compile(column_mode.rewrite(source), column_builtins,
                                         column_mode.gate)
                    else:
                        entry = _compile(source)
                    compiled[cache_key] = entry
                    while len(compiled) > _MAX_COMPILED:
                        compiled.pop(next(iter(compiled)))
                namespace, fn = entry
                original = namespace.get("PARAMS")
                param_sets = header.get("param_sets") or [None]
                result = array("d")
                if by_columns:
                    n = table.n
                else:
                    rows = _rows_of(table, tables)
                    n = len(rows)
                try:
                    for params in param_sets:
                        if by_columns:
                            result.frombytes(
                                _run_columns(column_mode, namespace, fn, table, params))
                        else:
                            result.extend(_run(namespace, fn, rows, params))
                finally:
                    namespace["PARAMS"] = original
            except RecursionError:
                _send(out, {"ok": False, "error": "RecursionError: recursion too deep", "line": 0})
                continue
            except MemoryError:
                _send(out, {"ok": False, "error": "MemoryError: memory limit exceeded", "line": 0})
                continue
            except Exception as exc:  # the candidate's own failure, reported as feedback
                message = f"{type(exc).__name__}: {exc}"[:500]
                _send(out, {"ok": False, "error": message, "line": _error_line(exc)})
                continue
            _send(out, {"ok": True, "shape": [len(param_sets), n],
                        "nbytes": len(result) * 8}, result.tobytes())
        elif op == "drop":
            tables.pop(header.get("key"), None)
            _send(out, {"ok": True})
        else:
            _send(out, {"ok": False, "error": f"unknown op {op!r}"})


if __name__ == "__main__":
    main()
