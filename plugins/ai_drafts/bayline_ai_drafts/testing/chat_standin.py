"""A local HTTP stand-in for an OpenAI-compatible endpoint: ``GET /v1/models`` and
``POST /v1/chat/completions`` in the Chat Completions wire format, recording every request.

``replies`` is the queue of draft texts to answer with (the last one repeats); ``models`` the ids it
offers; ``hang`` (a ``threading.Event``) makes chat requests wait until it is set (a timeout);
``status`` answers chat requests with that HTTP error instead."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatStandIn:
    def __init__(self, models: tuple[str, ...] = ("local-small",)) -> None:
        self.models = list(models)
        self.replies: list[str] = ["Hi, your car is in the shop."]
        self.requests: list[dict[str, Any]] = []
        self.hang: threading.Event | None = None
        self.status: int | None = None
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, code: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                standin.requests.append({"method": "GET", "path": self.path,
                                         "auth": self.headers.get("Authorization")})
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "standin"} for m in standin.models]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                standin.requests.append({"method": "POST", "path": self.path, "json": body,
                                         "auth": self.headers.get("Authorization")})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if standin.hang is not None:
                    standin.hang.wait()
                if standin.status:
                    self._json(standin.status, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if body.get("model") not in standin.models:
                    self._json(404, {"error": {"message": f"model {body.get('model')} not found"}})
                    return
                text = standin.replies.pop(0) if len(standin.replies) > 1 else standin.replies[0]
                self._json(200, {"id": f"chatcmpl-{len(standin.requests)}", "object": "chat.completion",
                                 "created": int(time.time()), "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def chats(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["method"] == "POST"]

    def __enter__(self) -> ChatStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()
