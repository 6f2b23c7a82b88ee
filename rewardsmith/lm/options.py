"""How likely the language model finds each of a few one-word answers, read from its token
log-probabilities instead of from generated text.

One call asks for a one-token reply with the 20 likeliest first tokens (``Config.logprobs``):
the embedded model reads them off its logits without generating (``lm/local.py``), an
OpenAI-compatible server returns them as ``top_logprobs``. An answer's log-probability is the
log-sum over the listed tokens that spell its start, in any case and with or without a leading
space ("better", "Better", " bet"...). An answer missing from the list gets the smallest listed
value: an upper bound, so a missing answer never looks likelier than one that was listed. DSPy's
cache keeps every reply, so a repeated question costs nothing.
"""

from __future__ import annotations

import math

import dspy

#: OpenAI's cap on ``top_logprobs``; llama.cpp and vLLM take it too.
TOP = 20
#: The shortest token that counts as the start of an answer ("bet" for "better", not "b").
MIN_PREFIX = 3


class NoLogprobsError(RuntimeError):
    """The model answered without log-probabilities (Anthropic's API, some servers)."""


def option_logprobs(system: str, user: str, options: tuple[str, ...], lm=None) -> dict[str, float]:
    """``{option: log-probability}`` of each one-word answer to ``user`` (see the module)."""
    from dspy.lm15 import Config, Message, Request

    lm = lm or dspy.settings.lm
    if lm is None:
        raise ValueError("No LM is loaded: configure one before asking questions")
    request = Request(model=lm.model, messages=(Message.user(user),), system=system,
                      config=Config(max_tokens=1, temperature=0.0, logprobs=TOP))
    response = lm(request)
    if not response.logprobs:
        raise NoLogprobsError(f"{lm.model} returned no log-probabilities; ask for a JSON prior "
                              "instead (prior_step='json')")
    listed = [(top.token, top.logprob) for top in response.logprobs[0].top]
    if not listed:
        first = response.logprobs[0]
        listed = [(first.token, first.logprob)]
    floor = min(logprob for _, logprob in listed)
    return {option: _answer_logprob(option, listed, floor) for option in options}


def _answer_logprob(option: str, listed, floor: float) -> float:
    word = option.lower()
    matches = [logprob for token, logprob in listed
               if (piece := token.strip().lower()) and word.startswith(piece)
               and len(piece) >= min(MIN_PREFIX, len(word))]
    if not matches:
        return floor
    top = max(matches)
    return top + math.log(sum(math.exp(m - top) for m in matches))
