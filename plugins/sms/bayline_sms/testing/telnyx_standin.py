"""A local HTTP stand-in for the parts of Telnyx's API v2 that Bayline SMS uses.

A real HTTP server (werkzeug) in a thread, so the official ``telnyx`` SDK talks to it over the
wire: ``POST /v2/messages`` (honours ``Idempotency-Key``; error 40300 for opted-out recipients,
429 on demand), ``GET /v2/available_phone_numbers``, ``POST /v2/number_orders`` (an ordered number
joins the account), ``GET /v2/phone_numbers`` (the numbers of the platform's account: ``inventory``,
seeded with :data:`~bayline_sms.testing.helpers.PLATFORM_NUMBERS`; ``filter[phone_number]`` takes
digits only and matches part of the number, as Telnyx does), ``GET /media/...`` (MMS media).
It signs webhooks with a test ed25519 key exactly as Telnyx does: base64 signature over
``f"{timestamp}|{body}"`` in ``Telnyx-Signature-Ed25519``, with ``Telnyx-Timestamp``.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .helpers import PLATFORM_NUMBERS

API_KEY = "KEYstandin_test_0123456789"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())


def _error(status: int, code: str, title: str, detail: str) -> Response:
    body = {"errors": [{"code": code, "title": title, "detail": detail,
                        "meta": {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"}}]}
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class TelnyxStandIn:
    signing_key: SigningKey = field(default_factory=SigningKey.generate)
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)  # recipients who texted STOP at the carrier
    # called with each new message after it is stored and before the answer leaves (fault tests)
    after_send: Callable[[dict[str, Any]], None] | None = None
    rate_limit_next: int = 0
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # the platform account's numbers (``GET /v2/phone_numbers``): E.164 → Telnyx's phone number record
    inventory: dict[str, dict[str, Any]] = field(default_factory=dict)
    _idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for number in PLATFORM_NUMBERS:
            self.own(number)

    def own(self, number: str, status: str = "active", messaging_profile_id: str | None = None) -> dict[str, Any]:
        """Put ``number`` in the platform account's inventory (as bought or ported in)."""
        record = {"id": str(uuid.uuid4()), "record_type": "phone_number", "phone_number": number,
                  "status": status, "phone_number_type": "local", "tags": [], "deletion_lock_enabled": False,
                  "messaging_profile_id": messaging_profile_id, "connection_id": None,
                  "created_at": _now(), "purchased_at": _now(), "source_type": "number_order"}
        with self._lock:
            self.inventory[number] = record
        return record

    def disown(self, number: str) -> None:
        """The number leaves the platform account (deleted or ported out)."""
        with self._lock:
            self.inventory.pop(number, None)

    # ------------------------------------------------------------------ server
    def start(self) -> TelnyxStandIn:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    @property
    def public_key(self) -> str:
        return base64.b64encode(bytes(self.signing_key.verify_key)).decode()

    def app_settings(self) -> dict[str, object]:
        """``create_app`` settings pointing the SMS plugin at this stand-in (no client retries)."""
        return {"BAYLINE_PLUGIN_SMS_TELNYX_API_KEY": API_KEY, "BAYLINE_PLUGIN_SMS_TELNYX_PUBLIC_KEY": self.public_key,
                "BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL": self.base_url, "BAYLINE_PLUGIN_SMS_TELNYX_MAX_RETRIES": 0}

    def media_url(self, name: str) -> str:
        """Where the stand-in serves ``media[name]`` (Telnyx's temporary MMS media URLs)."""
        return f"http://127.0.0.1:{self.port}/media/{name}"

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["to"][0]["phone_number"] == number]

    def message_posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v2/messages"]

    # ------------------------------------------------------------------ API
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.method == "POST" else None
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "json": body,
                                  "headers": dict(request.headers), "args": request.args.to_dict(flat=False)})
        if request.path.startswith("/media/"):
            item = self.media.get(request.path.rsplit("/", 1)[-1])
            if item is None:
                return Response("gone", status=404)
            return Response(item[0], content_type=item[1])
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "10009", "Authentication failed", "The required authentication headers were "
                          "either invalid or not included in the request.")
        if request.method == "POST" and request.path == "/v2/messages":
            return self._send(request, body or {})
        if request.method == "GET" and request.path == "/v2/available_phone_numbers":
            return self._search(request)
        if request.method == "POST" and request.path == "/v2/number_orders":
            return self._order(body or {})
        if request.method == "GET" and request.path == "/v2/phone_numbers":
            return self._inventory(request)
        return _error(404, "10005", "Resource not found", f"{request.method} {request.path}")

    def _send(self, request: Request, body: dict[str, Any]) -> Response:
        with self._lock:
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                return _error(429, "10011", "Too many requests", "Rate limit exceeded; retry later.")
            key = request.headers.get("Idempotency-Key")
            if key and key in self._idempotent:
                return Response(json.dumps({"data": self._idempotent[key]}), content_type="application/json")
            for name in ("from", "to"):
                if not body.get(name):
                    return _error(422, "10015", "Invalid value", f"The '{name}' parameter is required.")
            if not body.get("text") and not body.get("media_urls"):
                return _error(422, "10015", "Invalid value", "Either 'text' or 'media_urls' is required.")
            if body["to"] in self.blocked:
                return _error(400, "40300", "Blocked due to STOP message",
                              "The recipient has opted out of messages from this number.")
            msg = {
                "record_type": "message", "direction": "outbound", "id": str(uuid.uuid4()),
                "type": "MMS" if body.get("media_urls") else "SMS",
                "messaging_profile_id": body.get("messaging_profile_id") or str(uuid.uuid4()),
                "organization_id": str(uuid.uuid4()),
                "from": {"phone_number": body["from"], "carrier": "Telnyx", "line_type": "Wireless"},
                "to": [{"phone_number": body["to"], "status": "queued", "carrier": "T-MOBILE USA, INC.",
                        "line_type": "Wireless"}],
                "text": body.get("text") or "", "media": [{"url": u} for u in body.get("media_urls") or []],
                "encoding": "GSM-7", "parts": 1, "tags": [], "webhook_url": body.get("webhook_url"),
                "received_at": _now(), "sent_at": None, "completed_at": None, "valid_until": None, "errors": [],
            }
            self.messages.append(msg)
            if key:
                self._idempotent[key] = msg
        if self.after_send is not None:
            self.after_send(msg)
        return Response(json.dumps({"data": msg}), content_type="application/json")

    def _search(self, request: Request) -> Response:
        area = request.args.get("filter[national_destination_code]", "555")
        limit = int(request.args.get("filter[limit]", "5"))
        candidates = [f"+1{area}555{1000 + i:04d}"[:12] for i in range(limit + len(self.inventory))]
        free = [n for n in candidates if n not in self.inventory][:limit]  # numbers an account holds are not for sale
        data = [{"record_type": "available_phone_number", "phone_number": number,
                 "vanity_format": None, "best_effort": False, "quickship": True, "reservable": True,
                 "region_information": [{"region_type": "rate_center", "region_name": "BOSTON"}],
                 "cost_information": {"upfront_cost": "1.00", "monthly_cost": "1.00", "currency": "USD"},
                 "features": [{"name": "sms"}, {"name": "mms"}, {"name": "voice"}]} for number in free]
        return Response(json.dumps({"data": data, "meta": {"total_results": len(data), "best_effort_results": 0}}),
                        content_type="application/json")

    def _inventory(self, request: Request) -> Response:
        wanted = request.args.get("filter[phone_number]")
        status = request.args.get("filter[status]")
        with self._lock:
            records = list(self.inventory.values())
        if wanted is not None:  # Telnyx: digits only (anything else matches nothing), part of the number
            records = [r for r in records if wanted.isdigit() and wanted in r["phone_number"]]
        if status:
            records = [r for r in records if r["status"] == status]
        size = int(request.args.get("page[size]", "20"))
        return Response(json.dumps({"data": records[:size], "meta": {
            "page_number": 1, "total_pages": 1, "total_results": len(records), "page_size": size}}),
            content_type="application/json")

    def _order(self, body: dict[str, Any]) -> Response:
        with self._lock:
            held = [n.get("phone_number") for n in body.get("phone_numbers") or []
                    if n.get("phone_number") in self.inventory]
        if held:
            return _error(422, "10015", "Invalid value", f"{held[0]} is not available for purchase.")
        numbers = [{"id": str(uuid.uuid4()), "record_type": "number_order_phone_number",
                    "phone_number": n.get("phone_number"), "status": "success", "regulatory_requirements": []}
                   for n in body.get("phone_numbers") or []]
        order = {"id": str(uuid.uuid4()), "record_type": "number_order", "phone_numbers": numbers,
                 "phone_numbers_count": len(numbers), "status": "success",
                 "messaging_profile_id": body.get("messaging_profile_id"), "created_at": _now(),
                 "updated_at": _now(), "requirements_met": True}
        with self._lock:
            self.orders.append(order)
        for n in numbers:
            self.own(str(n["phone_number"]), messaging_profile_id=body.get("messaging_profile_id"))
        return Response(json.dumps({"data": order}), content_type="application/json")

    # ------------------------------------------------------------------ webhooks
    def sign(self, body: str, timestamp: int | None = None, key: SigningKey | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = (key or self.signing_key).sign(f"{ts}|{body}".encode()).signature
        return {"Telnyx-Signature-Ed25519": base64.b64encode(signature).decode(), "Telnyx-Timestamp": ts,
                "Content-Type": "application/json", "User-Agent": "telnyx-webhooks"}

    @staticmethod
    def envelope(event_type: str, payload: dict[str, Any], event_id: str | None = None) -> str:
        return json.dumps({"data": {"event_type": event_type, "id": event_id or str(uuid.uuid4()),
                                    "occurred_at": _now(), "payload": payload, "record_type": "event"},
                           "meta": {"attempt": 1, "delivered_to": "https://example.test/plugins/sms/webhook"}})

    def inbound(self, from_: str, to: str, text: str, media: list[str] | None = None,
                event_id: str | None = None, content_types: list[str] | None = None) -> str:
        payload = {"record_type": "message", "direction": "inbound", "id": str(uuid.uuid4()),
                   "type": "MMS" if media else "SMS", "messaging_profile_id": str(uuid.uuid4()),
                   "from": {"phone_number": from_, "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
                   "to": [{"phone_number": to, "status": "webhook_delivered", "carrier": "Telnyx",
                           "line_type": "Wireless"}],
                   "text": text, "media": [{"url": u, "content_type": (content_types or [])[i]
                                            if i < len(content_types or []) else "image/jpeg", "size": None,
                                            "hash_sha256": None} for i, u in enumerate(media or [])],
                   "encoding": "GSM-7", "parts": 1, "received_at": _now(), "errors": []}
        return self.envelope("message.received", payload, event_id)

    def delivery(self, telnyx_id: str, status: str, errors: list[dict[str, Any]] | None = None,
                 event_id: str | None = None) -> str:
        msg = next(m for m in self.messages if m["id"] == telnyx_id)
        payload = json.loads(json.dumps(msg))
        payload["to"][0]["status"] = status
        payload["errors"] = errors or []
        kind = "message.sent" if status in ("sent", "sending") else "message.finalized"
        return self.envelope(kind, payload, event_id)
