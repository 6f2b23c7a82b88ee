"""The embedded local model (Qwen2.5-Coder-1.5B-Instruct via llama.cpp).

Not installed yet in this version: see the project's issue on the embedded LLM. Until then,
``--lm local`` explains how to use any other model.
"""

from __future__ import annotations

from .select import LMConfigError


def local_lm(**kwargs):
    raise LMConfigError(
        "the embedded local model is not available in this version; use --lm provider/model "
        "(e.g. openai/gpt-4o-mini with OPENAI_API_KEY set) or --api-base URL for an "
        "OpenAI-compatible server (llama.cpp, vLLM, Ollama's /v1)"
    )
