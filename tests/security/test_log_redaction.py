"""L6: reset tokens, invitation links and signed photo URLs were written in full to the access log
(only ``/c/<token>`` was redacted). Requests go through a real werkzeug server, as in production."""
from __future__ import annotations

import logging
import re
import threading
from http.client import HTTPConnection

import pytest
from werkzeug.serving import make_server

from bayline.testing.forms import csrf_token


@pytest.fixture
def served_app(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_secret_paths_never_reach_the_logs(app, make_shop, make_user, api_client, served_app, caplog):
    shop = make_shop()
    user = make_user(shop, email="victim@example.com")
    client = app.test_client()
    client.post("/forgot", data={"email": user.email, "csrf_token": csrf_token(client, "/forgot")})
    api_client(shop).post("/api/v1/staff", json={"email": "new@example.com", "name": "N", "role": "advisor"})
    bodies = "\n".join(m["body"] for m in app.extensions["bayline.outbox"])
    reset = re.search(r"/reset/([^\s]+)", bodies).group(1)
    invite = re.search(r"/invite/([^\s]+)", bodies).group(1)
    photo = "eyJzIjoxLCJwIjoxfQ.aBcDeF.0123456789abcdefXYZ.jpg"
    caplog.set_level(logging.DEBUG)
    conn = HTTPConnection("127.0.0.1", served_app.server_port, timeout=10)
    for path in (f"/reset/{reset}", f"/invite/{invite}", f"/files/photos/{photo}", "/login?token=SuperSecret123"):
        conn.request("GET", path)
        conn.getresponse().read()
    logging.getLogger("gunicorn.access").info(f'"GET /reset/{reset} HTTP/1.1" 200')
    assert caplog.records, "the server logged nothing; the test would prove nothing"
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in (reset, invite, photo, "SuperSecret123"):
        assert secret not in text, secret
    assert "/reset/[redacted]" in text and "/invite/[redacted]" in text and "/files/photos/[redacted]" in text
