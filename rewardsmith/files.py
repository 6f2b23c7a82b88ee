"""Writing output files so that a crash never leaves a half-written one."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place.

    The file gets the mode a plain ``open(path, "w")`` would give (the replaced file's mode, or
    0666 less the umask), not the 0600 of a temporary file: reports and programs are for sharing.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that streams (e.g. pyarrow's): renamed to
    ``path`` when the block ends, removed if it raises (Ctrl-C included), so ``path`` is never
    half-written. The writer must be closed inside the block. Mode as for ``atomic_write_text``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike, error: type[Exception], *, missing: str,
              damaged: Callable[[Exception], str]):
    """The JSON document at ``path``. Raises ``error(missing)`` when there is no such file and
    ``error(damaged(exc))`` when it is not UTF-8 JSON: one message with the fix, no traceback."""
    path = Path(path)
    if not path.is_file():
        raise error(missing)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(damaged(exc)) from None


def _umask() -> int:
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask
