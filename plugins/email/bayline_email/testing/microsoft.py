"""A stand-in for Microsoft's identity platform and Microsoft Graph's mail API on loopback (https, with a
throwaway CA: msal accepts only https authorities), speaking the wire protocol msal and Graph REST clients
use:

- identity (``/<tenant>/...``): the OpenID discovery document, ``oauth2/v2.0/authorize`` (the mailbox
  owner approves at once; PKCE S256 and the nonce kept) and ``oauth2/v2.0/token`` (authorization code with
  PKCE verified; refresh with rotation: each refresh token works once, reusing one is ``invalid_grant``
  AADSTS70008-style; errors in the identity platform's JSON shape);
- Graph v1.0: ``GET /me``; ``GET /me/mailFolders('inbox')/messages/delta`` (pages of two with
  ``@odata.nextLink``, then ``@odata.deltaLink``; an expired link answers 410 ``SyncStateNotFound``);
  ``GET /me/messages/{id}/$value`` (the MIME); ``POST /me/sendMail`` (MIME, base64, text/plain; 202;
  saved to Sent Items); ``GET /me/mailFolders('sentitems')/messages?$filter=internetMessageId eq '...'``;
  ``POST/PATCH/DELETE /subscriptions`` with the validationToken handshake against the notification URL
  (answered in 10 seconds as text/plain, or the subscription is refused) and
  ``POST /subscriptions/{id}/reauthorize``; change and lifecycle notifications POSTed to the app.

Graph's side is checked against Microsoft's generated models (msgraph-sdk, through
:mod:`bayline_email.testing.graph_schema`): every request path must be an SDK request builder's, every
query parameter one it takes (``$select``/``$filter`` naming properties of its model), every JSON request
body (subscription create and renew) must parse into the builder's body model, every JSON answer (``/me``,
delta pages, Sent Items, subscriptions, errors) into its response model, with no unknown property and no
value of the wrong type. A request Graph would reject answers 400, an answer Graph would never send is
replaced by a 500, and both are kept in ``problems`` (tests assert it is empty); a notification payload
that does not parse raises :class:`~bayline_email.testing.graph_schema.SchemaMismatch` in the test that
sends it. The identity platform's endpoints follow its published documentation (msal drives them; no
schema ships for them). In memory; werkzeug in a thread."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from flask import Flask, Response, g, jsonify, make_response, redirect, request
from werkzeug.serving import make_server

from . import graph_schema, tls
from .dovecot import free_port

TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass
class Token:
    user: str
    access_token: str
    refresh_token: str
    expires_at: float
    revoked: bool = False


@dataclass
class Item:
    id: str
    conversation_id: str
    raw: bytes
    internet_message_id: str
    seq: int


@dataclass
class Subscription:
    id: str
    user: str
    resource: str
    notification_url: str
    lifecycle_url: str | None
    client_state: str
    expiration: str
    change_type: str = "created"


@dataclass
class Mailbox:
    address: str
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    inbox: list[Item] = field(default_factory=list)
    sent: list[Item] = field(default_factory=list)
    delta_floor: int = 0  # delta tokens older than this answer 410


def _graph_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(ts))


class MicrosoftServer:
    def __init__(self, folder: Path, client_id: str = "ms-client", client_secret: str = "ms-secret",
                 expires_in: int = 3600) -> None:
        self.certs = tls.make(folder)
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.client_id, self.client_secret, self.expires_in = client_id, client_secret, expires_in
        self.redirect_uris: list[str] = []
        self.default_user = "owner@contoso.test"
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: list[Token] = []
        self.mailboxes: dict[str, Mailbox] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.requests: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.drop_notifications = False
        self.refuse_reauthorize = False
        self.unavailable = False  # Graph answers 503 (an outage: failures count towards "failing")
        self.lock = threading.RLock()
        self._seq = 0
        self._signing = secrets.token_bytes(32)
        graph_schema.endpoints()  # the SDK's builders imported here, not in a request thread
        self.app = self._build()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                  ssl_context=(self.certs.cert, self.certs.key))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, str]:
        return {"BAYLINE_PLUGIN_EMAIL_MICROSOFT_CLIENT_ID": self.client_id,
                "BAYLINE_PLUGIN_EMAIL_MICROSOFT_CLIENT_SECRET": self.client_secret,
                "BAYLINE_PLUGIN_EMAIL_MICROSOFT_AUTHORITY": f"{self.base}/common",
                "BAYLINE_PLUGIN_EMAIL_MICROSOFT_GRAPH_URL": f"{self.base}/v1.0",
                "BAYLINE_PLUGIN_EMAIL_MICROSOFT_CA_BUNDLE": self.certs.ca}

    def add_mailbox(self, address: str) -> Mailbox:
        with self.lock:
            return self.mailboxes.setdefault(address.lower(), Mailbox(address.lower()))

    def revoke_all(self) -> None:
        with self.lock:
            for t in self.tokens:
                t.revoked = True

    def expire_delta_links(self, address: str) -> None:
        with self.lock:
            self.mailboxes[address.lower()].delta_floor = self._seq + 1

    def _item(self, raw: bytes, box: Mailbox) -> Item:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        refs = f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}".split()
        conversation = next((i.conversation_id for i in [*box.inbox, *box.sent] if i.internet_message_id in refs),
                            None) or base64.b64encode(secrets.token_bytes(16)).decode()
        self._seq += 1
        return Item("AAMk" + secrets.token_urlsafe(24), conversation, raw, str(msg.get("Message-ID") or "").strip(),
                    self._seq)

    def deliver(self, address: str, raw: bytes) -> Item:
        """Mail arrives in the inbox; each subscription on it is notified (unless dropped)."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            item = self._item(raw, box)
            box.inbox.append(item)
            subs = [s for s in self.subscriptions.values() if s.user == box.address]
        if not self.drop_notifications:
            for sub in subs:
                self._post(sub.notification_url, {"value": [{
                    "subscriptionId": sub.id, "subscriptionExpirationDateTime": sub.expiration,
                    "changeType": "created", "resource": f"Users/{box.oid}/Messages/{item.id}",
                    "resourceData": {"@odata.type": "#Microsoft.Graph.Message",
                                     "@odata.id": f"Users/{box.oid}/Messages/{item.id}",
                                     "@odata.etag": 'W/"CQAAABYAAAA="', "id": item.id},
                    "clientState": sub.client_state, "tenantId": TENANT_ID}]})
        return item

    def lifecycle(self, address: str, event: str) -> None:
        with self.lock:
            subs = [s for s in self.subscriptions.values() if s.user == address.lower()]
        for sub in subs:
            if event == "subscriptionRemoved":  # Graph dropped it (and says so)
                self.subscriptions.pop(sub.id, None)
            self._post(sub.lifecycle_url or sub.notification_url, {"value": [{
                "subscriptionId": sub.id, "subscriptionExpirationDateTime": sub.expiration, "tenantId": TENANT_ID,
                "clientState": sub.client_state, "lifecycleEvent": event}]})

    def _post(self, url: str, body: dict[str, Any]) -> None:
        """POST a notification payload to the app, once it parses as Graph's changeNotificationCollection."""
        try:
            graph_schema.check("ChangeNotificationCollection", body, "notification to the app")
        except graph_schema.SchemaMismatch as exc:
            self.problems.append(str(exc))
            raise
        resp = requests.post(url, json=body, timeout=120)
        if resp.status_code != 202:
            self.problems.append(f"notification to {url} answered {resp.status_code}: {resp.text[:200]}")

    # -- the servers ------------------------------------------------------------------------------
    def _build(self) -> Flask:
        app = Flask("microsoft-standin")
        owner = self

        def identity_error(error: str, description: str, code: int, status: int = 400) -> Any:
            return jsonify({"error": error, "error_description": f"AADSTS{code}: {description}",
                            "error_codes": [code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                            "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}), status

        def graph_error(status: int, code: str, message: str) -> Any:
            return jsonify({"error": {"code": code, "message": message,
                                      "innerError": {"request-id": str(uuid.uuid4())}}}), status

        @app.before_request
        def log() -> None:
            owner.requests.append((request.method, request.full_path))

        def refuse(found: list[str]) -> Any:
            owner.problems.append(f"request {request.method} {request.path}: " + "; ".join(found))
            return graph_error(400, "BadRequest", "; ".join(found)[:900])

        @app.before_request
        def check_graph_request() -> Any:
            """The request against the SDK endpoint serving its path: query parameters and JSON body."""
            if not request.path.startswith("/v1.0/"):
                return None
            rest = request.path[len("/v1.0/"):]
            found = g.endpoint = graph_schema.endpoint(request.method, rest)
            if found is None:
                return refuse([f"no msgraph-sdk request builder serves {request.method} /v1.0/{rest}"])
            links = frozenset({"$skiptoken", "$deltatoken"}) if found.builder == "DeltaRequestBuilder" else frozenset()
            wrong = graph_schema.query_problems(found, request.args.to_dict(), links=links)
            if wrong:
                return refuse(wrong)
            data = request.get_data()
            if request.mimetype == "application/json":
                if found.body is None or found.body is bytes:
                    return refuse([f"{found.builder}.{found.method.lower()} takes no JSON body"])
                try:
                    body = json.loads(data)
                except ValueError:
                    return refuse(["the body is not JSON"])
                wrong = graph_schema.problems(found.body, body)
                if wrong:
                    return refuse([f"{found.body.__name__}: {w}" for w in wrong])
            elif data and found.builder != "SendMailRequestBuilder":  # sendMail also takes MIME (text/plain)
                return refuse([f"{found.builder}.{found.method.lower()} takes "
                               f"{'no body' if found.body is None else 'a JSON body'}, got {request.mimetype}"])
            return None

        @app.after_request
        def check_graph_answer(response: Response) -> Response:
            """Every JSON answer against the endpoint's response model (errors: ODataError)."""
            if not request.path.startswith("/v1.0/"):
                return response
            found = getattr(g, "endpoint", None)
            if response.status_code >= 400:
                schema: Any = "ODataError"
            elif found is None:
                return response
            elif found.response is None:
                if response.get_data():
                    return broken(response, [f"{found.builder}.{found.method.lower()} answers no body"])
                return response
            elif found.response is bytes:
                return response
            else:
                schema = found.response
            if response.mimetype != "application/json":
                return broken(response, [f"answered {response.mimetype}, not JSON"])
            wrong = graph_schema.problems(schema, response.get_json())
            if wrong:
                name = schema if isinstance(schema, str) else schema.__name__
                return broken(response, [f"{name}: {w}" for w in wrong])
            return response

        def broken(response: Response, found: list[str]) -> Response:
            owner.problems.append(f"answer to {request.method} {request.path} ({response.status_code}): "
                                  + "; ".join(found))
            out = jsonify({"error": {"code": "StandInAnsweredOutsideTheModel", "message": "; ".join(found)[:900]}})
            out.status_code = 500
            return out

        @app.get("/<tenant>/v2.0/.well-known/openid-configuration")
        def discovery(tenant: str) -> Any:
            return jsonify({"issuer": f"{owner.base}/{TENANT_ID}/v2.0",
                            "authorization_endpoint": f"{owner.base}/{tenant}/oauth2/v2.0/authorize",
                            "token_endpoint": f"{owner.base}/{tenant}/oauth2/v2.0/token",
                            "jwks_uri": f"{owner.base}/{tenant}/discovery/v2.0/keys",
                            "response_types_supported": ["code", "id_token", "code id_token"],
                            "scopes_supported": ["openid", "profile", "email", "offline_access"],
                            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                            "subject_types_supported": ["pairwise"],
                            "id_token_signing_alg_values_supported": ["RS256"]})

        @app.get("/<tenant>/oauth2/v2.0/authorize")
        def authorize(tenant: str) -> Any:
            args = request.args
            if args.get("client_id") != owner.client_id or args.get("redirect_uri") not in owner.redirect_uris:
                return identity_error("unauthorized_client", "The client or redirect URI is not registered.", 700016)
            if args.get("response_type") != "code" or args.get("code_challenge_method") != "S256" \
                    or not args.get("code_challenge"):
                return identity_error("invalid_request", "PKCE with S256 is required.", 501491)
            code = secrets.token_urlsafe(32)
            owner.codes[code] = {"challenge": args["code_challenge"], "nonce": args.get("nonce"),
                                 "redirect_uri": args["redirect_uri"], "scope": args.get("scope", ""),
                                 "user": (args.get("login_hint") or owner.default_user).lower(), "at": time.time()}
            query = urlencode({"code": code, "state": args.get("state", ""), "session_state": str(uuid.uuid4())})
            return redirect(f"{args['redirect_uri']}?{query}")

        def issue(user: str, scope: str, nonce: str | None) -> dict[str, Any]:
            box = owner.add_mailbox(user)
            token = Token(user, "eyJ0eXAi." + secrets.token_urlsafe(32), "0.AR" + secrets.token_urlsafe(40),
                          time.time() + owner.expires_in)
            with owner.lock:
                owner.tokens.append(token)
            now = int(time.time())
            claims = {"iss": f"{owner.base}/{TENANT_ID}/v2.0", "aud": owner.client_id, "iat": now, "nbf": now,
                      "exp": now + 3600, "oid": box.oid, "sub": box.oid, "tid": TENANT_ID,
                      "preferred_username": user, "name": user.split("@")[0], "ver": "2.0"}
            if nonce:
                claims["nonce"] = nonce
            client_info = base64.urlsafe_b64encode(json.dumps({"uid": box.oid, "utid": TENANT_ID}).encode()).decode()
            return {"token_type": "Bearer", "scope": scope, "expires_in": owner.expires_in,
                    "ext_expires_in": owner.expires_in, "access_token": token.access_token,
                    "refresh_token": token.refresh_token, "client_info": client_info.rstrip("="),
                    "id_token": jwt.encode(claims, owner._signing, algorithm="HS256")}

        @app.post("/<tenant>/oauth2/v2.0/token")
        def token(tenant: str) -> Any:
            form = request.form
            if form.get("client_id") != owner.client_id or form.get("client_secret") != owner.client_secret:
                return identity_error("invalid_client", "Invalid client secret provided.", 7000215, 401)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                found = owner.codes.pop(form.get("code", ""), None)
                if found is None or time.time() - found["at"] > 600:
                    return identity_error("invalid_grant", "The provided authorization code is invalid or expired.",
                                          70008)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if challenge != found["challenge"] or form.get("redirect_uri") != found["redirect_uri"]:
                    return identity_error("invalid_grant", "The code_verifier does not match the challenge.", 501481)
                return jsonify(issue(found["user"], found["scope"], found["nonce"]))
            if grant == "refresh_token":
                with owner.lock:
                    old = next((t for t in owner.tokens if t.refresh_token == form.get("refresh_token")), None)
                    if old is None or old.revoked:
                        return identity_error("invalid_grant", "The refresh token has expired or was revoked "
                                              "(reauthentication required).", 70008)
                    old.revoked = True  # rotation: a refresh token works once
                return jsonify(issue(old.user, form.get("scope", ""), None))
            return identity_error("unsupported_grant_type", "The grant type is not supported.", 70003)

        def user() -> Mailbox | Any:
            header = request.headers.get("Authorization", "")
            value = header[7:] if header.startswith("Bearer ") else ""
            with owner.lock:
                found = next((t for t in owner.tokens if t.access_token == value), None)
            if found is None or found.revoked or found.expires_at < time.time():
                return graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            return owner.mailboxes[found.user]

        def delta_page(box: Mailbox, after: int, skip: int) -> dict[str, Any]:
            items = [i for i in box.inbox if i.seq > after]
            page = items[skip:skip + 2]
            out: dict[str, Any] = {
                "@odata.context": f"{owner.base}/v1.0/$metadata#Collection(message)",
                "value": [{"@odata.type": "#microsoft.graph.message", "@odata.etag": 'W/"CQAAABYAAAA="',
                           "id": i.id, "internetMessageId": i.internet_message_id, "conversationId": i.conversation_id}
                          for i in page]}
            link = f"{owner.base}/v1.0/me/mailFolders('inbox')/messages/delta"
            if skip + 2 < len(items):
                out["@odata.nextLink"] = f"{link}?$skiptoken={after}.{skip + 2}"
            else:
                out["@odata.deltaLink"] = f"{link}?$deltatoken={owner._seq}"
            return out

        def subscription_json(sub: Subscription) -> dict[str, Any]:
            return {"@odata.context": f"{owner.base}/v1.0/$metadata#subscriptions/$entity", "id": sub.id,
                    "resource": sub.resource, "applicationId": owner.client_id, "changeType": sub.change_type,
                    "clientState": sub.client_state or None, "notificationUrl": sub.notification_url,
                    "lifecycleNotificationUrl": sub.lifecycle_url, "expirationDateTime": sub.expiration,
                    "creatorId": owner.mailboxes[sub.user].oid, "includeResourceData": False,
                    "latestSupportedTlsVersion": "v1_2"}

        @app.route("/v1.0/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE"])
        def graph(rest: str) -> Any:
            if owner.unavailable:
                return graph_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
            box = user()
            if not isinstance(box, Mailbox):
                return box
            method = request.method
            if rest == "me" and method == "GET":
                return jsonify({"@odata.context": f"{owner.base}/v1.0/$metadata#users/$entity",
                                "mail": box.address, "userPrincipalName": box.address,
                                "displayName": box.address.split("@")[0]})
            if rest == "me/mailFolders('inbox')/messages/delta" and method == "GET":
                if "$deltatoken" in request.args:
                    after = int(request.args["$deltatoken"])
                    if after < box.delta_floor:
                        return graph_error(410, "SyncStateNotFound", "The sync state generation is not found.")
                    return jsonify(delta_page(box, after, 0))
                if "$skiptoken" in request.args:
                    after, skip = (int(v) for v in request.args["$skiptoken"].split("."))
                    return jsonify(delta_page(box, after, skip))
                return jsonify(delta_page(box, 0, 0))
            found = re.fullmatch(r"me/messages/([^/]+)/\$value", rest)
            if found and method == "GET":
                item = next((i for i in [*box.inbox, *box.sent] if i.id == found.group(1)), None)
                if item is None:
                    return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
                response = make_response(item.raw)
                response.headers["Content-Type"] = "text/plain"
                return response
            if rest == "me/sendMail" and method == "POST":
                if not request.content_type or not request.content_type.startswith("text/plain"):
                    return graph_error(400, "ErrorMimeContentInvalid", "MIME content must be text/plain base64.")
                try:
                    raw = base64.b64decode(request.get_data(), validate=True)
                except ValueError:
                    return graph_error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME")
                with owner.lock:
                    box.sent.append(owner._item(raw, box))
                return "", 202
            if rest == "me/mailFolders('sentitems')/messages" and method == "GET":
                wanted = re.fullmatch(r"internetMessageId eq '(.*)'", request.args.get("$filter", ""))
                if not wanted:
                    return graph_error(400, "BadRequest", "Invalid filter clause")
                mid = wanted.group(1).replace("''", "'")
                return jsonify({"value": [{"id": i.id} for i in box.sent if i.internet_message_id == mid]})
            if rest == "subscriptions" and method == "POST":
                body = request.get_json(silent=True) or {}
                missing = {"changeType", "notificationUrl", "resource", "expirationDateTime"} - set(body)
                if missing:
                    return graph_error(400, "InvalidRequest", f"Missing {sorted(missing)}")
                challenge = secrets.token_urlsafe(16)
                try:  # the validation handshake: our token echoed as text/plain within 10 seconds
                    got = requests.post(f"{body['notificationUrl']}?validationToken={challenge}", timeout=10)
                    ok = got.status_code == 200 and got.text == challenge and \
                        got.headers.get("Content-Type", "").startswith("text/plain")
                except requests.RequestException:
                    ok = False
                if not ok:
                    return graph_error(400, "ValidationError", "Subscription validation request failed. Response "
                                       "must exactly match validationToken query parameter.")
                sub = Subscription(str(uuid.uuid4()), box.address, body["resource"], body["notificationUrl"],
                                   body.get("lifecycleNotificationUrl"), str(body.get("clientState") or ""),
                                   _graph_time(time.time() + 4230 * 60), str(body["changeType"]))
                owner.subscriptions[sub.id] = sub
                return jsonify(subscription_json(sub)), 201
            found = re.fullmatch(r"subscriptions/([^/]+)(/reauthorize)?", rest)
            if found:
                sub = owner.subscriptions.get(found.group(1))
                if sub is None or sub.user != box.address:
                    return graph_error(404, "ResourceNotFound", "The object was not found.")
                if found.group(2) and method == "POST":
                    if owner.refuse_reauthorize:
                        return graph_error(403, "ExtensionError", "Operation: Reauthorize; Access is denied.")
                    return "", 204
                if method == "PATCH":
                    sub.expiration = _graph_time(time.time() + 4230 * 60)
                    return jsonify(subscription_json(sub))
                if method == "DELETE":
                    owner.subscriptions.pop(sub.id, None)
                    return "", 204
            owner.problems.append(f"unhandled Graph request {method} /v1.0/{rest}")
            return graph_error(400, "BadRequest", f"Unsupported request {method} /v1.0/{rest}")

        return app

    def start(self) -> MicrosoftServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
