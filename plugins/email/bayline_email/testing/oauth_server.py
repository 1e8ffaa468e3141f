"""An OAuth 2.0 authorization server on loopback, built with Authlib's Flask integration: the code flow
(the mailbox owner approves at once), refresh with rotation (each refresh issues a new refresh token and
revokes the old one: reusing it is ``invalid_grant``) and RFC 7009 revocation. In memory; served by
werkzeug in a thread on a free port. ``revoke_all()`` simulates the user revoking the app's access."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask, request
from werkzeug.serving import make_server

from .dovecot import free_port


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret or "", self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    created: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() - self.created > 600

    def get_auth_time(self) -> float:
        return self.created


@dataclass
class Token(TokenMixin):
    client_id: str
    user: str
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int
    issued_at: float = field(default_factory=time.time)
    revoked: bool = False

    def check_client(self, client: Any) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str:
        return self.user

    def get_client(self) -> Any:
        return None


class OAuthServer:
    def __init__(self, client_id: str = "bayline-test", client_secret: str = "client-secret-1",
                 expires_in: int = 3600) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.client = Client(client_id, client_secret, [])
        self.expires_in = expires_in
        self.codes: dict[str, Code] = {}
        self.tokens: list[Token] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.default_user = "owner"  # who approves when the request names nobody (login_hint)
        self.app = self._build()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- Authlib wiring ---------------------------------------------------------------------------
    def _build(self) -> Flask:
        app = Flask("oauth-standin")
        owner = self

        def query_client(client_id: str) -> Client | None:
            return owner.client if client_id == owner.client.client_id else None

        def save_token(token: dict[str, Any], req: Any) -> None:
            with owner.lock:
                owner.tokens.append(Token(owner.client.client_id, req.user, token["access_token"],
                                          token.get("refresh_token"), token.get("scope", ""),
                                          int(token["expires_in"])))

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]

            def save_authorization_code(self, code: str, req: Any) -> Code:
                found = Code(code, req.client.client_id, req.payload.redirect_uri, req.payload.scope or "", req.user)
                owner.codes[code] = found
                return found

            def query_authorization_code(self, code: str, client: Any) -> Code | None:
                found = owner.codes.get(code)
                return found if found and found.client_id == client.client_id and not found.is_expired() else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                owner.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> str:
                return authorization_code.user

        class RotatingRefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
                return next((t for t in owner.tokens if t.refresh_token == refresh_token and not t.revoked), None)

            def authenticate_user(self, credential: Token) -> str:
                return credential.user

            def revoke_old_credential(self, refresh_token: Token) -> None:
                refresh_token.revoked = True

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]

            def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
                return next((t for t in owner.tokens if token_string in (t.access_token, t.refresh_token)), None)

            def revoke_token(self, token: Token, req: Any) -> None:
                token.revoked = True

        app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": self.expires_in,
                                                  "refresh_token": self.expires_in}
        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        server.register_grant(CodeGrant)
        server.register_grant(RotatingRefreshGrant)
        server.register_endpoint(Revocation)

        @app.get("/authorize")
        def authorize() -> Any:
            owner.requests.append(("authorize", dict(request.args)))
            # the mailbox owner signs in and approves at once
            return server.create_authorization_response(grant_user=request.args.get("login_hint")
                                                        or owner.default_user)

        @app.post("/token")
        def token() -> Any:
            owner.requests.append(("token", dict(request.form)))
            return server.create_token_response()

        @app.post("/revoke")
        def revoke() -> Any:
            owner.requests.append(("revoke", dict(request.form)))
            return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

        @app.post("/google/revoke")
        def google_revoke() -> Any:
            """Google's revoke endpoint: the token alone (no client authentication); revoking a refresh
            token revokes its access tokens too."""
            token = request.form.get("token") or request.args.get("token") or ""
            owner.requests.append(("revoke", {"token": token}))
            with owner.lock:
                found = [t for t in owner.tokens if token in (t.access_token, t.refresh_token)]
                for t in found:
                    t.revoked = True
            if not found:
                return {"error": "invalid_token", "error_description": "Token expired or revoked"}, 400
            return {}, 200

        return app

    # -- control ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, str]:
        return {"BAYLINE_PLUGIN_EMAIL_OAUTH_AUTHORIZE_URL": f"{self.base}/authorize",
                "BAYLINE_PLUGIN_EMAIL_OAUTH_TOKEN_URL": f"{self.base}/token",
                "BAYLINE_PLUGIN_EMAIL_OAUTH_REVOKE_URL": f"{self.base}/revoke",
                "BAYLINE_PLUGIN_EMAIL_OAUTH_CLIENT_ID": self.client.client_id,
                "BAYLINE_PLUGIN_EMAIL_OAUTH_CLIENT_SECRET": self.client.client_secret,
                "BAYLINE_PLUGIN_EMAIL_OAUTH_SCOPE": "mail"}

    def google_settings(self, api_endpoint: str | None = None) -> dict[str, str]:
        """This server as Google's OAuth endpoints (and, given, the Gmail stand-in as Gmail's API)."""
        out = {"BAYLINE_PLUGIN_EMAIL_GOOGLE_AUTH_URL": f"{self.base}/authorize",
               "BAYLINE_PLUGIN_EMAIL_GOOGLE_TOKEN_URL": f"{self.base}/token",
               "BAYLINE_PLUGIN_EMAIL_GOOGLE_REVOKE_URL": f"{self.base}/google/revoke",
               "BAYLINE_PLUGIN_EMAIL_GOOGLE_CLIENT_ID": self.client.client_id,
               "BAYLINE_PLUGIN_EMAIL_GOOGLE_CLIENT_SECRET": self.client.client_secret}
        if api_endpoint:
            out["BAYLINE_PLUGIN_EMAIL_GOOGLE_API_ENDPOINT"] = api_endpoint
        return out

    def user_of(self, access_token: str) -> str | None:
        """Whose live (unexpired, unrevoked) access token this is."""
        with self.lock:
            found = next((t for t in self.tokens if t.access_token == access_token), None)
        return found.user if found and not found.revoked and not found.is_expired() else None

    def allow_redirect(self, uri: str) -> None:
        self.client.redirect_uris.append(uri)

    def revoke_all(self) -> None:
        with self.lock:
            for t in self.tokens:
                t.revoked = True

    def expire_all(self) -> None:
        with self.lock:
            for t in self.tokens:
                t.issued_at -= t.expires_in + 1

    def start(self) -> OAuthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
