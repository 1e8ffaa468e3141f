"""Errors reach Sentry through its SDK when ``BAYLINE_SENTRY_DSN`` is set, with portal tokens redacted.

The Sentry server is a local stand-in speaking the SDK's wire protocol (envelopes POSTed to
``/api/<project>/envelope/``); the SDK is the real ``sentry_sdk``, closed again after the test.
"""
from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bayline import create_app
from bayline.db import get_db


class Envelopes(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "exception" in item:
                Envelopes.received.append(item)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sentry_standin():
    Envelopes.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Envelopes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_port}/42"
    import sentry_sdk

    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)  # the rest of this process reports nowhere
    server.shutdown()
    thread.join()


def test_an_error_reaches_sentry_without_the_portal_token(database_url, tmp_path, sentry_standin):
    import sentry_sdk

    app = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path,
                      "sentry_dsn": sentry_standin, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/c/boom-for-sentry-test-0123456789")
    def boom():
        raise RuntimeError("broken while serving /c/AbCdEfGhIjKlMnOpQrStUv0123456789")

    try:
        assert app.test_client().get("/c/boom-for-sentry-test-0123456789").status_code == 500
        sentry_sdk.flush(timeout=30)
    finally:
        get_db(app).dispose()
    [event] = Envelopes.received
    text = json.dumps(event)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "AbCdEfGhIjKlMnOpQrStUv0123456789" not in text and "boom-for-sentry-test-0123456789" not in text
    assert "/c/[redacted]" in text
    assert event["environment"] == "test"
