"""Turning LLM-written source into a safe callable: static checks, an isolated worker, limits."""

from .checks import SAFE_BUILTINS, UnsafeCodeError, check_source
from .function import ScoringFunction, render_standalone, strip_main_block
from .params import FitResult, declared_params, fit_params, replace_params
from .pool import SandboxPool, default_sandbox
from .runner import Sandbox, SandboxCrash, SandboxError, SandboxTimeout

__all__ = [
    "SAFE_BUILTINS", "FitResult", "Sandbox", "SandboxCrash", "SandboxError", "SandboxPool",
    "SandboxTimeout", "ScoringFunction", "UnsafeCodeError", "check_source", "declared_params",
    "default_sandbox", "fit_params", "render_standalone", "replace_params", "strip_main_block",
]
