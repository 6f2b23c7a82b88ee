"""Choosing the language model: any provider DSPy reaches, an OpenAI-compatible URL, or the
embedded local one; plus a scripted engine for tests."""

from .budget import BudgetExhausted, LMBudget
from .errors import LMConfigError
from .scripted import Reply, ScriptedEngine, output_fields, scripted_lm
from .select import make_lm, resolve_spec, run_cache, use_run_cache

__all__ = ["BudgetExhausted", "LMBudget", "LMConfigError", "Reply", "ScriptedEngine", "make_lm",
           "output_fields", "resolve_spec", "run_cache", "scripted_lm", "use_run_cache"]
