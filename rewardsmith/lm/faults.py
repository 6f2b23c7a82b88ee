"""What went wrong with an LM call or its reply, in words a user (or the writing LLM) can act on.

DSPy 3.4 already retries transient faults itself (``dspy.LM(num_retries=...)``): timeouts,
connection errors, HTTP 429 (waiting as long as ``Retry-After`` says) and 5xx, with exponential
backoff, inside one LM call. What reaches us is either a fault that retrying cannot help (a bad
key, an unknown model) or one that outlasted the retries; this module tells them apart.
"""

from __future__ import annotations


def _fatal_types() -> tuple[type[BaseException], ...]:
    from dspy.utils.exceptions import (
        LMAuthError,
        LMBillingError,
        LMConfigurationError,
        LMUnsupportedFeatureError,
        LMUnsupportedModelError,
    )

    return (LMAuthError, LMBillingError, LMConfigurationError, LMUnsupportedFeatureError,
            LMUnsupportedModelError)


def is_fatal_lm_error(exc: BaseException) -> bool:
    """True for faults every further call would repeat: a bad key, no quota, an unknown model
    (or a URL with nothing behind it: HTTP 404), a setting the model refuses. These must stop a
    run instead of becoming failed attempts."""
    from dspy.utils.exceptions import LMProviderError

    if isinstance(exc, LMProviderError) and getattr(exc, "status", None) == 404:
        return True
    return isinstance(exc, _fatal_types()) or is_no_lm_error(exc)


def is_no_lm_error(exc: BaseException) -> bool:
    """DSPy's error for a call with no LM configured (a ValueError, told apart by its text)."""
    return isinstance(exc, ValueError) and str(exc).startswith("No LM is loaded")


def describe_lm_error(exc: BaseException) -> str:
    """One line: what the language model said and what to do about it."""
    from dspy.utils.exceptions import (
        LMAuthError,
        LMBillingError,
        LMUnsupportedModelError,
    )

    if is_no_lm_error(exc):
        return ("no language model is configured: pass --lm SPEC (or lm= in Python), or call "
                "dspy.configure(lm=...) first")
    model = getattr(exc, "model", None) or "the language model"
    status = getattr(exc, "status", None)
    said = first_line(getattr(exc, "message", None) or str(exc))
    where = f"{model} refused the request" + (f" (HTTP {status})" if status else "")
    if isinstance(exc, LMAuthError):
        fix = "check the API key (its environment variable, or the key your server expects)"
    elif isinstance(exc, LMBillingError):
        fix = "check the account's billing and quota with the provider"
    elif isinstance(exc, LMUnsupportedModelError) or status == 404:
        fix = "check the model name given to --lm (and the --api-base URL)"
    else:
        fix = "check the language model settings (--lm, --api-base, --temperature)"
    return f"{where}: {said}; {fix}"


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, without DSPy's ``[model]`` prefix, at most
    ``limit`` characters (DSPy's messages carry multi-line advice we replace with our own)."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
    return line if len(line) <= limit else line[:limit] + "..."


def reply_since(module, marker) -> dict | None:
    """The newest LM history entry ``module`` recorded after the entry ``marker`` (the last
    entry before the call, or None), or None when there is none.

    DSPy appends each LM call's entry to the history of every module on the call stack; the
    entry holds the provider's response, whose finish reason says whether the reply was cut off
    at the token limit (the parsed prediction does not say).
    """
    history = getattr(module, "history", None) or []
    if not history or history[-1] is marker:
        return None
    return history[-1]


def history_marker(module):
    """The current last history entry of ``module`` (see ``reply_since``)."""
    history = getattr(module, "history", None) or []
    return history[-1] if history else None


def was_cut_off(entry: dict | None) -> bool:
    """True when the reply of this history entry stopped at the token limit."""
    if not entry:
        return False
    response = entry.get("response")
    reason = getattr(response, "finish_reason", None)
    if reason is None:  # an OpenAI-shaped response from the LiteLLM path
        from dspy.clients.legacy_outputs import value

        choices = value(response, "choices", None) or []
        reason = value(choices[0], "finish_reason", None) if choices else None
    return reason == "length"


def was_empty(entry: dict | None) -> bool:
    """True when the reply of this history entry held no text at all."""
    if not entry:
        return False
    outputs = entry.get("outputs") or []
    texts = [o.get("text") if isinstance(o, dict) else o for o in outputs]
    return bool(texts) and not any((t or "").strip() for t in texts)
