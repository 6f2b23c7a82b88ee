"""A tiny OpenAI-compatible chat server on 127.0.0.1 for CLI tests (bounded, stops by itself)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    """Answers /v1/chat/completions with ``responder(prompt)``; records every prompt."""

    def __init__(self, responder, max_requests: int = 500):
        self.responder = responder
        self.prompts: list[str] = []
        self.max_requests = max_requests
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if len(server.prompts) >= server.max_requests:
                    self.send_error(429, "request budget of the fake server used up")
                    return
                prompt = "\n\n".join(_text(m.get("content")) for m in body.get("messages", []))
                server.prompts.append(prompt)
                reply = server.responder(prompt)
                text = reply if isinstance(reply, str) else json.dumps(reply)
                payload = json.dumps({
                    "id": "fake-1", "object": "chat.completion", "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": len(prompt) // 4,
                              "completion_tokens": len(text) // 4,
                              "total_tokens": (len(prompt) + len(text)) // 4},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
