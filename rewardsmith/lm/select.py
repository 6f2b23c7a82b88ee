"""Choosing the language model: one function and one ``--lm`` flag for every entry point.

``local`` (the default) is the embedded model; anything else is a DSPy model string
(``openai/...``, ``anthropic/...``, ``ollama_chat/...``, ``hosted_vllm/...``) with keys from the
usual environment variables, or any model name with ``api_base`` pointing at an OpenAI-compatible
server. ``REWARDSMITH_LM`` and ``REWARDSMITH_API_BASE`` set the defaults.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from .errors import LMConfigError

DEFAULT_SPEC = "local"
ENV_LM = "REWARDSMITH_LM"
ENV_API_BASE = "REWARDSMITH_API_BASE"

# Provider prefix -> the environment variable its key is read from. Providers not listed
# (ollama_chat, hosted_vllm, ...) talk to the user's own server and need none.
_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
}


def resolve_spec(spec: str | None = None, api_base: str | None = None) -> tuple[str, str | None]:
    """The model spec and API base to use: explicit values, else the environment, else local."""
    spec = spec or os.environ.get(ENV_LM) or DEFAULT_SPEC
    api_base = api_base or os.environ.get(ENV_API_BASE) or None
    return spec, api_base


def make_lm(
    spec: str | None = None,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    max_tokens: int = 2048,
    cache: bool = True,
    timeout: float | None = None,
    num_retries: int = 3,
):
    """A ``dspy.LM`` for ``spec`` (see module docstring). Raises ``LMConfigError`` with the fix.

    DSPy retries a call that timed out, could not connect, or got HTTP 429 or 5xx up to
    ``num_retries`` times, waiting as long as the server's ``Retry-After`` says or 1, 2, 4 ...
    seconds. ``timeout`` is how many seconds to wait for a reply (DSPy's default: 600); it does
    not apply to the embedded model, which runs in this process.
    """
    import dspy

    spec, api_base = resolve_spec(spec, api_base)
    if spec == "local" and not api_base:
        from .local import local_lm

        return local_lm(temperature=temperature, max_tokens=max_tokens, cache=cache)
    if api_base:
        if not api_base.startswith(("http://", "https://")):
            raise LMConfigError(f"--api-base must be an http(s) URL, got {api_base!r}")
        model = spec if "/" in spec else f"openai/{spec}"
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        return dspy.LM(model, api_base=api_base, api_key=key, temperature=temperature,
                       max_tokens=max_tokens, cache=cache, num_retries=num_retries,
                       **_timeout(timeout))
    if "/" not in spec:
        raise LMConfigError(
            f"--lm {spec!r} names no provider: use provider/model (e.g. openai/gpt-4o-mini, "
            "anthropic/claude-sonnet-4-5, ollama_chat/qwen2.5-coder), 'local', or add "
            "--api-base URL"
        )
    provider = spec.split("/", 1)[0]
    variable = _KEY_VARIABLES.get(provider)
    if variable and not (api_key or os.environ.get(variable)):
        raise LMConfigError(
            f"{spec} needs an API key: set the environment variable {variable} (or use --lm local "
            "for the embedded model)"
        )
    kwargs = {"api_key": api_key} if api_key else {}
    return dspy.LM(spec, temperature=temperature, max_tokens=max_tokens, cache=cache,
                   num_retries=num_retries, **kwargs, **_timeout(timeout))


def _timeout(timeout: float | None) -> dict:
    if timeout is None:
        return {}
    if not timeout > 0:
        raise LMConfigError(f"the LM timeout must be a positive number of seconds, not {timeout!r}")
    return {"timeout": float(timeout)}


def use_run_cache(run_dir: str | os.PathLike) -> Path:
    """Give this run its own DSPy disk cache (DSPy's cache key ignores the endpoint)."""
    import dspy

    path = Path(run_dir) / "dspy_cache"
    path.mkdir(parents=True, exist_ok=True)
    dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=True,
                         disk_cache_dir=str(path), restrict_pickle=True)
    return path


@contextmanager
def run_cache(run_dir: str | os.PathLike):
    """``use_run_cache`` for the duration of a ``with`` block, then the cache from before.

    Every LM call that finishes is stored in the run directory before the caller gets the reply
    (DSPy's disk cache commits each entry to SQLite), so a run killed at any moment keeps every
    call it completed; the next run with the same calls gets them from there without the LM.
    """
    import dspy

    previous = vars(dspy).get("cache")  # not ``dspy.cache``: reading it builds the default cache
    use_run_cache(run_dir)
    try:
        yield
    finally:
        ours = vars(dspy).get("cache")
        if previous is not None:
            dspy.cache = previous
        else:
            vars(dspy).pop("cache", None)  # back to DSPy's lazily built default
        disk = getattr(ours, "disk_cache", None)
        if hasattr(disk, "close"):
            disk.close()
