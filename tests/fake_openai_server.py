"""A tiny OpenAI-compatible chat server on 127.0.0.1 for CLI tests (bounded, stops by itself).

``faults`` scripts misbehaviour: each request takes the next fault from the list (if any) before
it is answered normally. A fault is a dict with any of

- ``status`` (with optional ``headers`` and ``message``): answer with that HTTP error instead;
- ``hang``: wait that many seconds, then close the connection without answering;
- ``content`` / ``finish_reason``: answer with this text / finish reason instead of the
  responder's reply (``""`` is an empty reply, ``"length"`` a reply cut off at the token limit).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    """Answers /v1/chat/completions with ``responder(prompt)``; records every prompt."""

    def __init__(self, responder, max_requests: int = 500, faults=None, latency_s: float = 0.0):
        self.responder = responder
        self.prompts: list[str] = []
        self.max_requests = max_requests
        self.faults = list(faults or [])
        self.latency_s = latency_s  # every answer waits this long, like a remote API
        self.requests = 0  # every request that arrived, answered or not
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests += 1
                    fault = server.faults.pop(0) if server.faults else {}
                if fault.get("hang"):
                    time.sleep(fault["hang"])  # then hang up without an answer
                    self.close_connection = True
                    return
                if fault.get("status"):
                    self._send(fault["status"], {"error": {
                        "message": fault.get("message", f"fake error {fault['status']}"),
                        "type": "fake_error", "code": None}}, fault.get("headers", {}))
                    return
                if len(server.prompts) >= server.max_requests:
                    self._send(429, {"error": {"message": "request budget of the fake server "
                                               "used up", "type": "fake_error"}})
                    return
                prompt = "\n\n".join(_text(m.get("content")) for m in body.get("messages", []))
                server.prompts.append(prompt)
                if server.latency_s:
                    time.sleep(server.latency_s)
                reply = server.responder(prompt)
                text = reply if isinstance(reply, str) else json.dumps(reply)
                text = fault.get("content", text)
                self._send(200, {
                    "id": "fake-1", "object": "chat.completion", "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": fault.get("finish_reason", "stop"),
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": len(prompt) // 4,
                              "completion_tokens": len(text) // 4,
                              "total_tokens": (len(prompt) + len(text)) // 4},
                })

            def _send(self, status, document, headers=None):
                payload = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hang past its timeout)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""
