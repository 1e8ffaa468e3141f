"""OAuth 2.0 mailbox connections (authorization code flow), with Authlib's client.

The provider's endpoints and this platform's client credentials are platform configuration
(``plugin_config("email")``: ``oauth_authorize_url``, ``oauth_token_url``, ``oauth_revoke_url``,
``oauth_client_id``, ``oauth_client_secret``, ``oauth_scope``). Tokens are sealed at rest. The access
token is refreshed only when it expires within :data:`REFRESH_MARGIN`; a rotated refresh token in the
answer replaces the stored one at once. ``invalid_grant`` (revoked, expired or reused refresh token)
marks the mailbox ``reauthorize``: the banner shows and the owners get one email
(:mod:`bayline_email.health`); reconnecting keeps the sync cursor. Disconnecting revokes the refresh
token at the provider (RFC 7009) and deletes both tokens."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import select

from bayline.plugin_api import commit, current_tenant_id, get_session, plugin_config, seal, unseal, utcnow

from . import health
from .models import EmailConnection

log = logging.getLogger(__name__)
PURPOSE = "email.oauth"
REFRESH_MARGIN = timedelta(minutes=5)
PROVIDER = "oauth"


class NotConfigured(Exception):
    pass


def _cfg() -> Any:
    return plugin_config("email")


def configured() -> bool:
    cfg = _cfg()
    return all(cfg.get_str(k) for k in ("oauth_authorize_url", "oauth_token_url", "oauth_client_id"))


def _session(redirect_uri: str | None = None, token: dict[str, Any] | None = None) -> OAuth2Session:
    cfg = _cfg()
    if not configured():
        raise NotConfigured("OAuth is not configured on this platform (BAYLINE_PLUGIN_EMAIL_OAUTH_*)")
    return OAuth2Session(cfg.get_str("oauth_client_id"), cfg.get_str("oauth_client_secret") or None,
                         scope=cfg.get_str("oauth_scope") or None, redirect_uri=redirect_uri, token=token,
                         token_endpoint_auth_method="client_secret_post")


def authorization_url(redirect_uri: str, state: str) -> str:
    url, _ = _session(redirect_uri).create_authorization_url(_cfg().get_str("oauth_authorize_url"), state=state)
    return str(url)


def _store(conn: EmailConnection, token: dict[str, Any]) -> None:
    conn.access_sealed = seal(str(token["access_token"]), PURPOSE)
    if token.get("refresh_token"):  # rotation: the provider's newest refresh token, the old one is dead
        conn.refresh_sealed = seal(str(token["refresh_token"]), PURPOSE)
    expires_in = int(token.get("expires_in") or 3600)
    conn.token_expires_at = utcnow() + timedelta(seconds=expires_in)


def connect(code: str, redirect_uri: str, address: str, imap_host: str | None = None, imap_port: int | None = None,
            smtp_host: str | None = None, smtp_port: int | None = None) -> EmailConnection:
    """Exchange the authorization ``code`` and store (or reconnect) the mailbox ``address``."""
    token = _session(redirect_uri).fetch_token(_cfg().get_str("oauth_token_url"), code=code,
                                               grant_type="authorization_code")
    session = get_session()
    address = address.strip().lower()
    conn = session.scalars(select(EmailConnection).where(EmailConnection.address == address)).first()
    if conn is None:
        conn = EmailConnection(tenant_id=current_tenant_id(), address=address, last_uid=0, kind="imap")
        session.add(conn)
    conn.auth, conn.oauth_provider, conn.username = "oauth", PROVIDER, address
    conn.imap_host, conn.imap_port = imap_host or conn.imap_host, imap_port or conn.imap_port
    conn.smtp_host, conn.smtp_port = smtp_host or conn.smtp_host, smtp_port or conn.smtp_port
    _store(conn, token)
    conn.status, conn.failures, conn.last_error, conn.owner_notified_at = "ok", 0, None, None
    commit(session)
    return conn


def access_token(conn: EmailConnection) -> str | None:
    """A working access token: the stored one while it lives longer than the margin, else refreshed
    (and the rotated refresh token stored). None when the mailbox must be reconnected."""
    current = unseal(conn.access_sealed, PURPOSE)
    if current and conn.token_expires_at and conn.token_expires_at - utcnow() > REFRESH_MARGIN:
        return current
    refresh = unseal(conn.refresh_sealed, PURPOSE)
    if not refresh:
        health.failed(conn, "no refresh token: reconnect the mailbox", reauthorize=True)
        return None
    try:
        token = _session().refresh_token(_cfg().get_str("oauth_token_url"), refresh_token=refresh)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            health.failed(conn, f"{exc.error}: the provider no longer accepts this connection", reauthorize=True)
        else:
            health.failed(conn, f"token refresh failed: {exc.error}")
        return None
    except Exception as exc:  # unreachable provider: counts towards "failing", the token may still work
        health.failed(conn, f"token refresh failed: {type(exc).__name__}")
        return current
    _store(conn, token)
    commit(get_session())
    return str(token["access_token"])


def disconnect(conn: EmailConnection) -> None:
    """Revoke the refresh token at the provider (best effort) and delete both tokens."""
    refresh = unseal(conn.refresh_sealed, PURPOSE)
    url = _cfg().get_str("oauth_revoke_url")
    if refresh and url:
        try:
            _session().revoke_token(url, refresh, token_type_hint="refresh_token")
        except Exception:
            log.warning("mailbox %s: revoking the refresh token failed", conn.id)
    conn.access_sealed = conn.refresh_sealed = None
    conn.token_expires_at = None
    conn.status = "disconnected"
    commit(get_session())
