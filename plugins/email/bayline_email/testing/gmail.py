"""A stand-in for Gmail's REST API on loopback, speaking its wire protocol as google-api-python-client
calls it (the bundled discovery document's paths, parameters and JSON): ``users.getProfile``,
``users.messages.list/get/send``, ``users.history.list`` (404 for a history it no longer keeps),
``users.watch`` / ``users.stop``, and Pub/Sub push of the watch's notifications to a URL.

Every request's query parameters are checked against the discovery method's parameters, every request
body and response against the discovery schemas (:mod:`bayline_email.testing.discovery`): a mismatch
answers 500 and is kept in ``problems`` (tests assert it is empty). Bearer tokens are those the OAuth
stand-in (:class:`OAuthServer`) issued and has not revoked or expired. In memory; werkzeug in a thread."""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

import requests
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from . import discovery
from .dovecot import free_port
from .oauth_server import OAuthServer


@dataclass
class Stored:
    id: str
    thread_id: str
    raw: bytes
    labels: list[str]
    history_id: int
    internal_date: int
    message_id: str


@dataclass
class Mailbox:
    address: str
    messages: dict[str, Stored] = field(default_factory=dict)
    history: list[tuple[int, str]] = field(default_factory=list)  # (history id, message id added)
    oldest_history: int = 1
    watch_topic: str | None = None
    watch_expiration: int = 0


class GmailServer:
    def __init__(self, auth: OAuthServer) -> None:
        self.auth = auth
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        self.mailboxes: dict[str, Mailbox] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.problems: list[str] = []
        self.push_url: str | None = None
        self.drop_pushes = False
        self.pushed: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._next = 1000
        self.history_counter = 5000
        self.app = self._build()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control ----------------------------------------------------------------------------------
    def add_mailbox(self, address: str) -> Mailbox:
        with self.lock:
            return self.mailboxes.setdefault(address.lower(), Mailbox(address.lower(),
                                                                      oldest_history=self.history_counter))

    def _id(self) -> str:
        self._next += 1
        return f"{self._next:016x}"

    def _thread_for(self, box: Mailbox, raw: bytes) -> str:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        refs = f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}".split()
        for stored in box.messages.values():
            if stored.message_id and stored.message_id in refs:
                return stored.thread_id
        return self._id()

    def _add(self, box: Mailbox, raw: bytes, labels: list[str], thread_id: str | None = None) -> Stored:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        self.history_counter += 1
        stored = Stored(self._id(), thread_id or self._thread_for(box, raw), raw, labels, self.history_counter,
                        int(time.time() * 1000), str(msg.get("Message-ID") or "").strip())
        box.messages[stored.id] = stored
        box.history.append((self.history_counter, stored.id))
        return stored

    def deliver(self, address: str, raw: bytes, push: bool = True) -> Stored:
        """Mail arrives in the mailbox's INBOX; with a watch and a push URL, Pub/Sub pushes it."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            stored = self._add(box, raw, ["INBOX", "UNREAD"])
            notify = push and box.watch_topic and self.push_url and not self.drop_pushes and \
                box.watch_expiration > time.time() * 1000
        if notify:
            self._push(box, stored.history_id)
        return stored

    def _push(self, box: Mailbox, history_id: int) -> None:
        data = base64.b64encode(json.dumps({"emailAddress": box.address, "historyId": history_id}).encode())
        envelope = {"message": {"data": data.decode(), "messageId": str(history_id), "message_id": str(history_id),
                                "publishTime": "2026-12-03T10:00:00.000Z", "attributes": {}},
                    "subscription": "projects/bayline-test/subscriptions/gmail-push"}
        self.pushed.append(envelope)
        assert self.push_url
        resp = requests.post(self.push_url, json=envelope, timeout=120)
        if resp.status_code >= 300:
            self.problems.append(f"push answered {resp.status_code}: {resp.text[:200]}")

    def forget_history_before(self, address: str, history_id: int) -> None:
        """Google keeps history for a limited time: older start ids answer 404."""
        with self.lock:
            self.mailboxes[address.lower()].oldest_history = history_id

    def sent(self, address: str) -> list[Stored]:
        return [m for m in self.mailboxes[address.lower()].messages.values() if "SENT" in m.labels]

    # -- the API ------------------------------------------------------------------------------------
    def _build(self) -> Flask:
        app = Flask("gmail-standin")
        owner = self

        def error(code: int, message: str, status: str) -> Any:
            return jsonify({"error": {"code": code, "message": message, "status": status,
                                      "errors": [{"message": message, "domain": "global", "reason": status}]}}), code

        def authed(user_id: str) -> Mailbox | Any:
            header = request.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else ""
            user = owner.auth.user_of(token)
            if user is None:
                return error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
            box = owner.mailboxes.get(user.lower())
            if box is None or user_id not in ("me", box.address):
                return error(403, "Delegation denied", "PERMISSION_DENIED")
            return box

        def checked(schema: str, value: dict[str, Any]) -> Any:
            found = discovery.problems(schema, value)
            if found:
                owner.problems.append(f"response {schema}: {found}")
                return error(500, f"stand-in answered outside the schema: {found}", "INTERNAL")
            return jsonify(value)

        @app.before_request
        def check_request() -> Any:
            owner.requests.append((request.method, request.path, request.args.to_dict(flat=False)))
            found = discovery.method(request.path, request.method)
            if found is None:
                owner.problems.append(f"no discovery method for {request.method} {request.path}")
                return error(404, "Not Found", "NOT_FOUND")
            allowed = set(found.get("parameters") or {}) | {"alt", "prettyPrint", "fields", "key", "quotaUser",
                                                            "$.xgafv", "access_token", "callback", "oauth_token",
                                                            "uploadType", "upload_protocol"}
            unknown = set(request.args) - allowed
            if unknown:
                owner.problems.append(f"{request.path}: parameters not in the discovery document: {unknown}")
                return error(400, f"Invalid parameters {unknown}", "INVALID_ARGUMENT")
            if found.get("request") and request.method == "POST":
                body = request.get_json(silent=True)
                probs = discovery.problems(found["request"]["$ref"], body)
                if body is None or probs:
                    owner.problems.append(f"request {found['request']['$ref']}: {probs}")
                    return error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
            return None

        def message_json(m: Stored, fmt: str, headers: list[str] | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.labels),
                                   "snippet": "", "historyId": str(m.history_id), "internalDate": str(m.internal_date),
                                   "sizeEstimate": len(m.raw)}
            if fmt == "raw":
                out["raw"] = discovery.b64url(m.raw)
            elif fmt in ("metadata", "full"):
                msg = BytesParser(policy=policy.default).parsebytes(m.raw)
                out["payload"] = {"mimeType": msg.get_content_type(), "headers": [
                    {"name": k, "value": str(v)} for k, v in msg.items()
                    if not headers or k.lower() in {h.lower() for h in headers}]}
            return out

        @app.get("/gmail/v1/users/<user_id>/profile")
        def profile(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            return checked("Profile", {"emailAddress": box.address, "messagesTotal": len(box.messages),
                                       "threadsTotal": len({m.thread_id for m in box.messages.values()}),
                                       "historyId": str(owner.history_counter)})

        @app.get("/gmail/v1/users/<user_id>/messages")
        def list_messages(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            labels = request.args.getlist("labelIds")
            query = request.args.get("q") or ""
            rows = sorted(box.messages.values(), key=lambda m: m.history_id, reverse=True)
            rows = [m for m in rows if all(label in m.labels for label in labels)]
            if query.startswith("rfc822msgid:"):
                wanted = query.split(":", 1)[1].strip().strip("<>")
                rows = [m for m in rows if m.message_id.strip("<>") == wanted]
            start = int(request.args.get("pageToken") or 0)
            size = int(request.args.get("maxResults") or 100)
            page = rows[start:start + size]
            out: dict[str, Any] = {"messages": [{"id": m.id, "threadId": m.thread_id} for m in page],
                                   "resultSizeEstimate": len(rows)}
            if start + size < len(rows):
                out["nextPageToken"] = str(start + size)
            if not page:
                out.pop("messages")
            return checked("ListMessagesResponse", out)

        @app.get("/gmail/v1/users/<user_id>/messages/<message_id>")
        def get_message(user_id: str, message_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            m = box.messages.get(message_id)
            if m is None:
                return error(404, "Requested entity was not found.", "NOT_FOUND")
            return checked("Message", message_json(m, request.args.get("format") or "full",
                                                   request.args.getlist("metadataHeaders")))

        @app.post("/gmail/v1/users/<user_id>/messages/send")
        def send(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            body = request.get_json()
            raw = base64.urlsafe_b64decode(str(body.get("raw") or "") + "==")
            thread = body.get("threadId")
            with owner.lock:
                if thread and not any(m.thread_id == thread for m in box.messages.values()):
                    return error(404, "Requested entity was not found.", "NOT_FOUND")
                stored = owner._add(box, raw, ["SENT"], thread_id=thread)
            return checked("Message", {"id": stored.id, "threadId": stored.thread_id, "labelIds": ["SENT"]})

        @app.get("/gmail/v1/users/<user_id>/history")
        def history(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            try:
                start_id = int(request.args.get("startHistoryId") or "")
            except ValueError:
                return error(400, "Invalid startHistoryId", "INVALID_ARGUMENT")
            if start_id < box.oldest_history:
                return error(404, "Requested entity was not found.", "NOT_FOUND")
            label = request.args.get("labelId")
            rows = [(h, mid) for h, mid in box.history if h > start_id
                    and (not label or label in box.messages[mid].labels)]
            start = int(request.args.get("pageToken") or 0)
            size = int(request.args.get("maxResults") or 2)  # small pages: the client must follow them
            page = rows[start:start + size]
            out: dict[str, Any] = {"historyId": str(owner.history_counter)}
            if page:
                out["history"] = [{"id": str(h), "messages": [{"id": mid, "threadId": box.messages[mid].thread_id}],
                                   "messagesAdded": [{"message": {"id": mid, "threadId": box.messages[mid].thread_id,
                                                                  "labelIds": list(box.messages[mid].labels)}}]}
                                  for h, mid in page]
            if start + size < len(rows):
                out["nextPageToken"] = str(start + size)
            return checked("ListHistoryResponse", out)

        @app.post("/gmail/v1/users/<user_id>/watch")
        def watch(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            body = request.get_json()
            if not str(body.get("topicName") or "").startswith("projects/"):
                return error(400, "Invalid topicName", "INVALID_ARGUMENT")
            box.watch_topic = body["topicName"]
            box.watch_expiration = int((time.time() + 7 * 86400) * 1000)
            return checked("WatchResponse", {"historyId": str(owner.history_counter),
                                             "expiration": str(box.watch_expiration)})

        @app.post("/gmail/v1/users/<user_id>/stop")
        def stop(user_id: str) -> Any:
            box = authed(user_id)
            if not isinstance(box, Mailbox):
                return box
            box.watch_topic, box.watch_expiration = None, 0
            return "", 204

        return app

    def start(self) -> GmailServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
