"""Saving and loading compiled programs: one JSON file, no pickle, nothing executed on load.

The file holds DSPy's state of the program (each predictor's instructions and demonstrations),
the program's hyperparameters and our metadata (versions, LM used, compile datasets and scores,
date). The language model is never taken from the file: it is chosen when the program is used.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
from pathlib import Path

import dspy

from .. import __version__
from ..files import atomic_write_text, read_json

FORMAT = "rewardsmith-program"
FORMAT_VERSION = 1


class ProgramFileError(ValueError):
    """The program file is missing, damaged, from an incompatible version or another program."""


def save_program_file(program, path, *, metadata: dict | None = None) -> Path:
    state = program.dump_state()
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "program": type(program).__name__,
        "config": program.config(),
        "predictors": [name for name, _ in program.named_predictors()],
        "metadata": {
            "rewardsmith_version": __version__,
            "dspy_version": dspy.__version__,
            "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **(metadata or {}),
        },
        "state": state,
    }
    library = getattr(program, "library_", None)
    if library is not None:  # worked examples of a compile by retrieval: words and labels only
        document["library"] = library.to_dict()
    return atomic_write_text(path, json.dumps(document, indent=2, default=str) + "\n")


def read_program_file(path, expected_program: str) -> dict:
    """Parse and validate a program file; raise ``ProgramFileError`` with the fix on problems."""
    path = Path(path)
    document = read_json(
        path, ProgramFileError, missing=f"program file not found: {path}",
        damaged=lambda exc: f"{path} is not a valid program file (damaged JSON: {exc}); compile "
        "and save again")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProgramFileError(
            f"{path} is not a rewardsmith program file (written by program.save(path))"
        )
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ProgramFileError(
            f"{path} has file format {version}; this rewardsmith reads format {FORMAT_VERSION}: "
            "compile the program again with this version"
        )
    if document.get("program") != expected_program:
        raise ProgramFileError(
            f"{path} holds a {document.get('program')}, not a {expected_program}; load it with "
            "that class"
        )
    if not isinstance(document.get("state"), dict) or not isinstance(document.get("config"), dict):
        raise ProgramFileError(f"{path} is damaged: its state or config is missing")
    return document


def check_structure(program, document: dict, path) -> list[str]:
    """The saved predictors must be the program's predictors, by name and in order; one the class
    added after the file format began (``ADDED_PREDICTORS``, such as the prior step) may be
    absent and stays as constructed. Returns the names of those absent predictors."""
    names = [name for name, _ in program.named_predictors()]
    saved = document.get("predictors")
    added = getattr(program, "ADDED_PREDICTORS", ())
    absent = [name for name in names
              if name in added and isinstance(saved, list) and name not in saved]
    present = [name for name in names if name not in absent]
    if saved != present or set(document["state"]) != set(present) or not present:
        raise ProgramFileError(
            f"{path} was saved from a different program structure (predictors {saved}, this "
            f"program has {names}); compile and save it again"
        )
    for name in present:
        entry = document["state"][name]
        if not isinstance(entry, dict) or not isinstance(entry.get("demos", []), list):
            raise ProgramFileError(f"{path} is damaged: the state of predictor '{name}' is invalid")
    return absent


#: The only keys of a predictor's saved state we restore. Everything else in an edited file is
#: ignored, and the LM is never restored from a file: it is chosen when the program is used.
_PREDICTOR_KEYS = ("traces", "train", "demos", "signature", "fields")


def load_program(cls_or_program, path):
    """Load a saved program into a fresh instance (class given) or into an existing program."""
    is_class = isinstance(cls_or_program, type)
    expected = cls_or_program.__name__ if is_class else type(cls_or_program).__name__
    document = read_program_file(path, expected)
    if is_class:
        retired = getattr(cls_or_program, "RETIRED_CONFIG_KEYS", ())
        config = {k: v for k, v in document["config"].items() if k not in retired}
        try:
            program = cls_or_program(**config)
        except TypeError as exc:
            raise ProgramFileError(
                f"{path} has settings this version does not know: {exc}"
            ) from None
    else:
        program = cls_or_program
    absent = check_structure(program, document, path)
    state = {
        name: {**{k: v for k, v in (predictor.dump_state() if name in absent
                                    else document["state"][name]).items()
                  if k in _PREDICTOR_KEYS},
               "lm": None}
        for name, predictor in program.named_predictors()
    }
    try:
        program.load_state(state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProgramFileError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None
    if document.get("library") is not None:
        from ..corpus.examples import PriorLibrary

        try:
            program.library_ = PriorLibrary.from_dict(document["library"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProgramFileError(f"{path} is damaged: its library of worked examples cannot "
                                   f"be read ({type(exc).__name__}: {exc}); compile again"
                                   ) from None
    program.metadata_ = document.get("metadata", {})
    program.uncompiled_predictors_ = absent  # added after the file was written: as constructed
    return program


class SavableProgram:
    """Mixin for our dspy.Modules: ``config``, ``save``, ``load`` (DSPy's meaning) and
    ``from_file`` (a new program from a file).

    ``config()`` reads the constructor's own signature: every argument of ``__init__`` is stored
    on the instance under its name, saved with the state and passed back to the constructor.
    """

    def config(self) -> dict:
        """The hyperparameters, as saved in a program file: ``__init__``'s arguments."""
        names = [name for name, parameter in inspect.signature(type(self).__init__).parameters
                 .items() if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL,
                                                                       parameter.VAR_KEYWORD)]
        return {name: getattr(self, name) for name in names}

    def save(self, path, save_program=False, modules_to_serialize=None, *,
             metadata: dict | None = None):
        """DSPy's ``save``. With ``save_program=False`` (the default) write one JSON file: DSPy
        state, hyperparameters and metadata, atomically. ``save_program=True`` is DSPy's whole-
        program pickle into a directory (``dspy.load`` reads it; it runs code when loaded)."""
        if save_program:
            return super().save(path, save_program=True, modules_to_serialize=modules_to_serialize)
        return save_program_file(self, path, metadata=metadata)

    def load(self, path, allow_pickle=False, allow_unsafe_lm_state=False):
        """DSPy's ``load``: read a saved state into this program and return it. A rewardsmith
        program file is checked (format, class, predictors) and its LM is never restored; a state
        file written by plain DSPy, or a ``.pkl`` with ``allow_pickle=True``, goes to DSPy."""
        if Path(path).suffix == ".pkl" or is_dspy_state_file(path):
            super().load(path, allow_pickle=allow_pickle,
                         allow_unsafe_lm_state=allow_unsafe_lm_state)
            return self
        return load_program(self, path)

    @classmethod
    def from_file(cls, path):
        """A new program made from a file written by ``save(path)``: its settings from the file,
        then its state. No pickle; no code from the file is run."""
        return load_program(cls, path)

    def run(self, data, *, fit_size=None, seed: int = 0, prior=None, **load_options):
        """Write a reward function for a dataset (built-in name, path or DataFrame).

        ``prior`` (a ``fitting.Prior`` or a dict such as ``{"light": "higher"}``) replaces the
        prior the LM would state. Returns a ``RunResult``: the function, its held-out rho (None
        when the data has no held-out rows), the prior, the candidates, the analysis and every
        attempt.
        """
        from .run import run_program

        return run_program(self, data, fit_size=fit_size, seed=seed, prior=prior,
                           **load_options)


def is_dspy_state_file(path) -> bool:
    """A JSON file in plain DSPy's ``save`` layout (predictor states and DSPy's metadata), not a
    rewardsmith program file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (isinstance(document, dict) and "format" not in document
            and "dependency_versions" in (document.get("metadata") or {}))
