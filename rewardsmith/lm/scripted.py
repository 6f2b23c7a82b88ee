"""A deterministic, scripted language model for tests and dry runs.

``ScriptedEngine`` implements DSPy 3.4's engine contract (``complete(request) -> Response``).
A ``responder`` decides each reply from the prompt: it receives the full prompt text and returns
either a dict of output fields (serialised as the JSON object DSPy's JSONAdapter expects) or raw
text, or a ``Reply`` (the same, with a finish reason: ``Reply(text, "length")`` is a reply cut
off at the token limit; ``Reply(text, logprobs={"better": -0.2, ...})`` also reports those
first-token log-probabilities, as a request with ``Config.logprobs`` gets them). Every prompt is
recorded in ``prompts`` so tests can assert what the model was (and was not) shown, and each
call's sampling temperature and seed in ``temperatures`` and ``seeds``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

Responder = Callable[[str], "dict | str | Reply"]


@dataclass(frozen=True)
class Reply:
    """A scripted reply with its finish reason ("stop", or "length" when cut off)."""

    content: dict | str
    finish_reason: str = "stop"
    logprobs: dict[str, float] | None = None   # first-token alternatives, likeliest first


class ScriptedEngine:
    def __init__(self, responder: Responder):
        self.responder = responder
        self.prompts: list[str] = []
        self.temperatures: list[float | None] = []
        self.seeds: list[int | None] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def complete(self, request) -> Response:
        prompt = prompt_text(request)
        with self._lock:
            self.prompts.append(prompt)
            config = getattr(request, "config", None)
            self.temperatures.append(getattr(config, "temperature", None))
            self.seeds.append(getattr(config, "seed", None))
        reply = self.responder(prompt)
        finish_reason, logprobs = "stop", None
        if isinstance(reply, Reply):
            reply, finish_reason, logprobs = reply.content, reply.finish_reason, reply.logprobs
        text = reply if isinstance(reply, str) else json.dumps(reply)
        tokens_in, tokens_out = len(prompt) // 4, len(text) // 4  # a rough, deterministic count
        return Response(
            id=None,
            model="scripted",
            message=Message.assistant([TextPart(text)]),
            finish_reason=finish_reason,
            usage=Usage(input_tokens=tokens_in, output_tokens=tokens_out,
                        total_tokens=tokens_in + tokens_out),
            logprobs=_first_token(logprobs) if logprobs else None,
        )

    def stream(self, request):
        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


def _first_token(logprobs: dict[str, float]):
    from dspy._vendor.lm15.types import TokenLogprob, TopLogprob

    alternatives = tuple(TopLogprob(token, float(value)) for token, value in logprobs.items())
    return (TokenLogprob(alternatives[0].token, alternatives[0].logprob, top=alternatives),)


def prompt_messages(request) -> list[dict]:
    """A DSPy request as chat messages ``[{"role": ..., "content": ...}]``, system first."""
    system = request.system
    if system is not None and not isinstance(system, str):
        system = "".join(getattr(part, "text", "") or "" for part in system)
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": m.role, "content": m.text or ""} for m in request.messages]
    return messages


def prompt_text(request) -> str:
    """System prompt and messages of a DSPy request, joined as plain text."""
    return "\n\n".join(m["content"] for m in prompt_messages(request))


def output_fields(prompt: str) -> list[str]:
    """The output field names a DSPy prompt asks for (its 'Your output fields are' list)."""
    marker = "Your output fields are:"
    if marker not in prompt:
        return []
    block = prompt.split(marker, 1)[1].split("All interactions", 1)[0]
    names = []
    for line in block.splitlines():
        line = line.strip()
        if "`" in line and line[:1].isdigit():
            names.append(line.split("`")[1])
    return names


def scripted_lm(responder: Responder, model: str = "scripted/test"):
    """A ``dspy.LM`` backed by a ``ScriptedEngine`` (no cache, so every call reaches the engine)."""
    import dspy

    engine = ScriptedEngine(responder)
    return dspy.LM(model, engine=engine, cache=False), engine
