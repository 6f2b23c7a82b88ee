"""Choosing the language model: any provider DSPy reaches, an OpenAI-compatible URL, or the
embedded local one; plus a scripted engine for tests."""

from .scripted import ScriptedEngine, output_fields, scripted_lm
from .select import LMConfigError, make_lm, resolve_spec, use_run_cache

__all__ = ["LMConfigError", "ScriptedEngine", "make_lm", "output_fields", "resolve_spec",
           "scripted_lm", "use_run_cache"]
