"""A local stand-in for the Stripe endpoints this plugin calls, speaking Stripe's wire protocol
(form-encoded requests with a bearer key, JSON objects back, ``Stripe-Signature`` webhooks), so the
official ``stripe`` library is exercised unchanged with its API base pointed here.

* ``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/<id>``: Checkout Sessions.
* ``GET /pay/<id>``: the hosted payment page (a button); ``POST /pay/<id>``: the customer pays: the
  session becomes ``paid``, a signed ``checkout.session.completed`` event is POSTed to
  ``webhook_url`` (when set) and the browser goes to the session's ``success_url``.
* :meth:`StripeStandIn.complete` pays a session without a browser and returns the signed event
  ``(payload, headers)`` for a test client to deliver.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.request
from typing import Any

from markupsafe import escape
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "sk_test_bayline_standin"
WEBHOOK_SECRET = "whsec_bayline_standin"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


class StripeStandIn:
    def __init__(self, api_key: str = API_KEY, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.delivered: list[int] = []  # status codes of the webhook deliveries
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> StripeStandIn:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- wire protocol -------------------------------------------------------------------
    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> Response:
        return Response(json.dumps({"error": {"type": kind, "message": message}}), status,
                        content_type="application/json")

    def _json(self, obj: dict[str, Any]) -> Response:
        return Response(json.dumps(obj), 200, content_type="application/json",
                        headers={"Request-Id": "req_" + secrets.token_hex(6)})

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/v1/"):
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return self._error(401, "Invalid API Key provided.", "authentication_error")
            self.requests.append({"method": request.method, "path": path, "form": request.form.to_dict()})
            if path == "/v1/checkout/sessions" and request.method == "POST":
                return self._create(request)
            if path.startswith("/v1/checkout/sessions/") and request.method == "GET":
                session = self.sessions.get(path.rsplit("/", 1)[1])
                return self._json(session) if session else self._error(404, "No such checkout.session")
            return self._error(404, f"Unrecognized request URL ({request.method}: {path}).")
        if path.startswith("/pay/"):
            session_id = path.split("/")[2]
            session = self.sessions.get(session_id)
            if session is None:
                return Response("no such session", 404)
            if request.method == "GET":
                amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
                html = (f"<!doctype html><title>Stripe stand-in</title><h1>Pay {escape(amount)}</h1>"
                        f"<form method=post><button id=pay type=submit>Pay</button></form>")
                return Response(html, 200, content_type="text/html")
            self.complete(session_id, deliver=True)
            return Response("", 303, headers={"Location": session["success_url"]})
        return Response("not found", 404)

    def _create(self, request: Request) -> Response:
        form = request.form
        try:
            amount = int(form["line_items[0][price_data][unit_amount]"]) * int(form.get("line_items[0][quantity]", 1))
            currency = form["line_items[0][price_data][currency]"]
            success, cancel = form["success_url"], form["cancel_url"]
        except (KeyError, ValueError) as exc:
            return self._error(400, f"Missing required param: {exc}.")
        if form.get("mode") != "payment":
            return self._error(400, "mode must be payment for this stand-in.")
        session_id = "cs_test_" + secrets.token_hex(12)
        metadata = {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}
        session = {"id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
                   "payment_status": "unpaid", "amount_total": amount, "currency": currency,
                   "client_reference_id": form.get("client_reference_id"), "metadata": metadata,
                   "success_url": success, "cancel_url": cancel, "payment_intent": None,
                   "url": f"{self.base_url}/pay/{session_id}", "livemode": False, "created": int(time.time())}
        with self._lock:
            self.sessions[session_id] = session
        return self._json(session)

    # -- the customer pays ------------------------------------------------------------------
    def complete(self, session_id: str, deliver: bool = False) -> tuple[bytes, dict[str, str]]:
        """Mark the session paid and build its signed ``checkout.session.completed`` event; POST it to
        ``webhook_url`` too when ``deliver``."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid",
                           payment_intent=session.get("payment_intent") or "pi_test_" + secrets.token_hex(10))
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": "checkout.session.completed",
                 "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
                 "data": {"object": dict(session)}}
        payload = json.dumps(event).encode()
        headers = {"Stripe-Signature": sign(payload, self.webhook_secret), "Content-Type": "application/json"}
        if deliver and self.webhook_url:
            req = urllib.request.Request(self.webhook_url, data=payload, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=30) as resp:
                self.delivered.append(resp.status)
        return payload, headers
