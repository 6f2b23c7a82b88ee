"""A run directory: what an interrupted compile or program run needs to resume.

    DIR/manifest.json   the command and the settings that decide its result; whether it finished
    DIR/dspy_cache/     DSPy's disk cache: every LM call that finished, stored as it finished
    DIR/program.json    the compiled program (compile), DIR/function.py the function (run)

Resuming reruns the same command from the start: it takes the same path, and every LM call the
interrupted run finished is answered from ``dspy_cache`` without calling the model. (GEPA's own
``log_dir`` resume is not used: GEPA 0.1.4 does not save its random generator, so a run resumed
from its state takes another path than an uninterrupted one, and the state is a pickle.)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

from . import __version__
from .files import atomic_write_text

MANIFEST = "manifest.json"


class RunDirError(ValueError):
    """The run directory cannot be used as asked; the message says what to do instead."""


class RunDir:
    """An opened run directory (see module docstring); ``open`` checks and creates it."""

    def __init__(self, path: Path, manifest: dict, resumed: bool):
        self.path = path
        self.manifest = manifest
        self.resumed = resumed

    @classmethod
    def open(cls, path, command: str, settings: dict, *, resume: bool) -> RunDir:
        """Start a run in ``path`` (which must be empty or new), or with ``resume`` continue the
        run there, which must have been made by the same command with the same settings."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"--run-dir {path} is a file; give a directory")
        settings = json.loads(json.dumps(settings))  # as it will read back from the file
        manifest_path = path / MANIFEST
        has_files = path.is_dir() and any(path.iterdir())
        if has_files and not resume:
            raise RunDirError(f"run directory {path} is not empty: pass --resume to continue the "
                              "run in it, or choose another --run-dir")
        if has_files and not manifest_path.is_file():
            raise RunDirError(f"{path} is not a rewardsmith run directory (it has no {MANIFEST}); "
                              "choose another --run-dir")
        if not has_files:
            manifest = {"command": command, "settings": settings, "finished": False,
                        "rewardsmith_version": __version__,
                        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
            run = cls(path, manifest, resumed=False)
            run._write()
            return run
        manifest = _read(manifest_path)
        if manifest.get("command") != command:
            raise RunDirError(f"run directory {path} was made by `rewardsmith "
                              f"{manifest.get('command')}`, not `{command}`: choose another "
                              "--run-dir")
        changed = _differences(manifest.get("settings") or {}, settings)
        if changed:
            raise RunDirError(f"run directory {path} was made by a {command} with other "
                              f"settings ({'; '.join(changed)}); repeat them to resume, or "
                              "choose another --run-dir")
        return cls(path, manifest, resumed=True)

    @property
    def finished(self) -> bool:
        return bool(self.manifest.get("finished"))

    def file(self, name: str) -> Path:
        return self.path / name

    def cache(self):
        """A context in which DSPy's cache is this directory's (see ``lm.select.run_cache``)."""
        from .lm.select import run_cache

        return run_cache(self.path)

    def record(self, **details) -> None:
        """Add ``details`` to the manifest (``finished=True`` when the command finished)."""
        self.manifest.update(details)
        self._write()

    def _write(self) -> None:
        atomic_write_text(self.path / MANIFEST, json.dumps(self.manifest, indent=2) + "\n")


def digest(*parts) -> str:
    """A short stable fingerprint of texts, bytes and JSON-able values (for settings)."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True,
                                                                default=str).encode()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:16]


#: LM settings that say where and how to reach the model, not what it answers: a resumed run may
#: reach the same model at another address or with another key.
_CONNECTION_KEYS = {"api_key", "api_base", "base_url", "timeout", "headers", "extra_headers",
                    "organization", "project", "api_version"}


def lm_settings(lm) -> dict:
    """The model and the settings that decide its answers (temperature, max_tokens, ...)."""
    kwargs = {k: v for k, v in (getattr(lm, "kwargs", None) or {}).items()
              if k not in _CONNECTION_KEYS}
    return {"model": getattr(lm, "model", None), "settings": digest(kwargs)}


def _read(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path} is damaged ({exc}); choose another --run-dir") from None
    if not isinstance(manifest, dict):
        raise RunDirError(f"{path} is damaged; choose another --run-dir")
    return manifest


def _differences(before: dict, now: dict) -> list[str]:
    out = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) != now.get(key):
            then, later = _show(before.get(key)), _show(now.get(key))
            out.append(f"{key}: {then} then, {later} now" if then and later else key)
    return out


def _show(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else ""
