"""OAuth 2.0 mailbox connections (authorization code flow) for three providers, each through its own
client library:

- ``google``: Gmail's API. The authorization URL and the code exchange with Authlib's OAuth 2.0 client
  against Google's endpoints (``access_type=offline``, ``prompt=consent``: a refresh token every time);
  refresh with google-auth (``google.oauth2.credentials.Credentials.refresh``); revocation at Google's
  revoke endpoint. The connection is a ``gmail`` mailbox (:mod:`bayline_email.gmail`).
- ``microsoft``: Microsoft 365 through Microsoft Graph. msal's ``ConfidentialClientApplication`` runs
  the code flow (PKCE, state and nonce checked by msal) and the refresh. The connection is a ``graph``
  mailbox (:mod:`bayline_email.graph`). The Microsoft identity platform has no revocation endpoint for
  an app's refresh token: disconnecting deletes the Graph subscription and both tokens.
- ``oauth``: any other provider's OAuth 2.0 endpoints (Authlib), for IMAP/SMTP with SASL XOAUTH2.

Endpoints and this platform's client credentials are platform configuration (``plugin_config("email")``,
see the plugin README). One policy for all three (:func:`access_token`): tokens sealed at rest; the access
token refreshed only when it expires within :data:`REFRESH_MARGIN`; a rotated refresh token in the answer
replaces the stored one at once; ``invalid_grant`` (revoked, expired or reused refresh token) marks the
mailbox ``reauthorize`` (banner + one email to the owners, :mod:`bayline_email.health`); reconnecting
keeps the sync cursor."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from sqlalchemy import select

from bayline.plugin_api import commit, current_tenant_id, get_session, plugin_config, seal, unseal, utcnow

from . import health
from .models import EmailConnection

log = logging.getLogger(__name__)
PURPOSE = "email.oauth"
REFRESH_MARGIN = timedelta(minutes=5)
GRANT_ERRORS = ("invalid_grant", "invalid_client", "unauthorized_client", "interaction_required")
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/gmail.readonly", "https://www.googleapis.com/auth/gmail.send")
MICROSOFT_SCOPES = ("https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/Mail.Send",
                    "https://graph.microsoft.com/User.Read")
_DEFAULTS = {
    "google_auth_url": "https://accounts.google.com/o/oauth2/v2/auth",
    "google_token_url": "https://oauth2.googleapis.com/token",
    "google_revoke_url": "https://oauth2.googleapis.com/revoke",
    "microsoft_authority": "https://login.microsoftonline.com/common",
}


class NotConfigured(Exception):
    pass


class GrantRefused(Exception):
    """The provider answered the token request with an OAuth error (``error``: ``invalid_grant``, ...)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    kind: str  # the connection kind it makes


PROVIDERS = {"google": Provider("google", "Gmail (Google Workspace)", "gmail"),
             "microsoft": Provider("microsoft", "Microsoft 365 / Outlook", "graph"),
             "oauth": Provider("oauth", "Another provider (IMAP/SMTP over OAuth 2.0)", "imap")}


def _cfg() -> Any:
    return plugin_config("email")


def setting(key: str) -> str | None:
    return _cfg().get_str(key) or _DEFAULTS.get(key)


def configured(provider: str = "oauth") -> bool:
    if provider == "google":
        return bool(setting("google_client_id"))
    if provider == "microsoft":
        return bool(setting("microsoft_client_id"))
    return all(setting(k) for k in ("oauth_authorize_url", "oauth_token_url", "oauth_client_id"))


def available() -> list[Provider]:
    """The providers this platform is set up for (the console offers these)."""
    return [p for p in PROVIDERS.values() if configured(p.name)]


def ca_bundle() -> str | bool:
    """TLS trust for the Microsoft endpoints: the configured CA file, else the system's."""
    return setting("microsoft_ca_bundle") or True


# -- the per-provider wire ------------------------------------------------------------------------


def _authlib(provider: str, redirect_uri: str | None = None) -> OAuth2Session:
    if not configured(provider):
        raise NotConfigured(f"OAuth for {provider} is not configured on this platform (BAYLINE_PLUGIN_EMAIL_*)")
    if provider == "google":
        return OAuth2Session(setting("google_client_id"), setting("google_client_secret") or None,
                             scope=" ".join(GOOGLE_SCOPES), redirect_uri=redirect_uri,
                             token_endpoint_auth_method="client_secret_post")
    return OAuth2Session(setting("oauth_client_id"), setting("oauth_client_secret") or None,
                         scope=setting("oauth_scope") or None, redirect_uri=redirect_uri,
                         token_endpoint_auth_method="client_secret_post")


def msal_app() -> Any:
    """msal's confidential client for this platform (tenant discovery is done once per process)."""
    import msal

    if not configured("microsoft"):
        raise NotConfigured("Microsoft 365 is not configured on this platform (BAYLINE_PLUGIN_EMAIL_MICROSOFT_*)")
    key = (setting("microsoft_client_id"), setting("microsoft_client_secret"), setting("microsoft_authority"),
           str(ca_bundle()))
    cache = current_app.extensions.setdefault("bayline_email.msal", {})
    found = cache.get(key)
    if found is None:
        import functools

        http = requests.Session()
        # per request, so REQUESTS_CA_BUNDLE in the environment cannot override a configured CA file
        http.request = functools.partial(http.request, verify=ca_bundle(), timeout=60)  # type: ignore[method-assign]
        found = cache[key] = msal.ConfidentialClientApplication(
            key[0], client_credential=key[1], authority=key[2], http_client=http, instance_discovery=False,
            validate_authority=False)
    return found


def start(provider: str, redirect_uri: str, state: str, login_hint: str | None = None) -> tuple[str, dict[str, Any]]:
    """(the provider's authorization URL, what the browser session keeps until the redirect comes back)."""
    if provider == "microsoft":
        flow = msal_app().initiate_auth_code_flow(list(MICROSOFT_SCOPES), redirect_uri=redirect_uri, state=state,
                                                  login_hint=login_hint or None)
        return str(flow["auth_uri"]), {"flow": flow}
    session = _authlib(provider, redirect_uri)
    extra: dict[str, str] = {"login_hint": login_hint} if login_hint else {}
    if provider == "google":
        extra.update(access_type="offline", prompt="consent", include_granted_scopes="true")
        url, _ = session.create_authorization_url(setting("google_auth_url"), state=state, **extra)
    else:
        url, _ = session.create_authorization_url(setting("oauth_authorize_url"), state=state, **extra)
    return str(url), {}


def exchange(provider: str, redirect_uri: str, pending: dict[str, Any], args: dict[str, str]) -> dict[str, Any]:
    """The token answer (``access_token``, ``refresh_token``, ``expires_in``) for the provider's redirect
    ``args`` (``code``, ``state``). Raises :class:`GrantRefused` when the provider refuses."""
    if provider == "microsoft":
        result = msal_app().acquire_token_by_auth_code_flow(pending.get("flow") or {}, args,
                                                           scopes=list(MICROSOFT_SCOPES))
        if "error" in result:
            raise GrantRefused(str(result["error"]), str(result.get("error_description") or "")[:200])
        return result
    url = setting("google_token_url") if provider == "google" else setting("oauth_token_url")
    try:
        return dict(_authlib(provider, redirect_uri).fetch_token(url, code=args.get("code", ""),
                                                                 grant_type="authorization_code"))
    except OAuthError as exc:
        raise GrantRefused(str(exc.error), str(exc.description or "")[:200]) from exc


def _refresh(provider: str, refresh: str) -> dict[str, Any]:
    """A new token answer for ``refresh``. :class:`GrantRefused` for an OAuth error; anything else
    (unreachable, TLS) propagates."""
    if provider == "google":
        import google.auth.exceptions
        import google.auth.transport.requests
        from google.oauth2.credentials import Credentials

        creds = Credentials(None, refresh_token=refresh, token_uri=setting("google_token_url"),
                            client_id=setting("google_client_id"), client_secret=setting("google_client_secret"),
                            scopes=list(GOOGLE_SCOPES))
        try:
            creds.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            raise GrantRefused(str(data.get("error") or "invalid_grant"),
                               str(data.get("error_description") or "")[:200]) from exc
        expiry = creds.expiry.replace(tzinfo=UTC) if creds.expiry else None
        expires_in = int((expiry - datetime.now(UTC)).total_seconds()) if expiry else 3600
        return {"access_token": creds.token, "refresh_token": creds.refresh_token, "expires_in": expires_in}
    if provider == "microsoft":
        result = msal_app().acquire_token_by_refresh_token(refresh, scopes=list(MICROSOFT_SCOPES))
        if "error" in result:
            raise GrantRefused(str(result["error"]), str(result.get("error_description") or "")[:200])
        return result
    try:
        return dict(_authlib(provider).refresh_token(setting("oauth_token_url"), refresh_token=refresh))
    except OAuthError as exc:
        raise GrantRefused(str(exc.error), str(exc.description or "")[:200]) from exc


def _revoke(provider: str, refresh: str) -> None:
    if provider == "google":
        requests.post(setting("google_revoke_url") or "", data={"token": refresh}, timeout=60).raise_for_status()
    elif provider == "oauth" and setting("oauth_revoke_url"):
        _authlib(provider).revoke_token(setting("oauth_revoke_url"), refresh, token_type_hint="refresh_token")
    # microsoft: no revocation endpoint for an app's refresh token; the tokens are deleted


# -- the one policy ---------------------------------------------------------------------------------


def _store(conn: EmailConnection, token: dict[str, Any]) -> None:
    conn.access_sealed = seal(str(token["access_token"]), PURPOSE)
    if token.get("refresh_token"):  # rotation: the provider's newest refresh token, the old one is dead
        conn.refresh_sealed = seal(str(token["refresh_token"]), PURPOSE)
    expires_in = int(token.get("expires_in") or 3600)
    conn.token_expires_at = utcnow() + timedelta(seconds=expires_in)


def connect(provider: str, token: dict[str, Any], address: str, imap_host: str | None = None,
            imap_port: int | None = None, smtp_host: str | None = None,
            smtp_port: int | None = None) -> EmailConnection:
    """Store (or reconnect) the mailbox ``address`` with the tokens the code exchange returned. A
    reconnect keeps the sync cursor, so sync resumes where it stopped."""
    session = get_session()
    address = address.strip().lower()
    kind = PROVIDERS[provider].kind
    conn = session.scalars(select(EmailConnection).where(EmailConnection.address == address)).first()
    if conn is None:
        conn = EmailConnection(tenant_id=current_tenant_id(), address=address, last_uid=0, kind=kind)
        session.add(conn)
    conn.kind, conn.auth, conn.oauth_provider, conn.username = kind, "oauth", provider, address
    if kind == "imap":
        conn.imap_host, conn.imap_port = imap_host or conn.imap_host, imap_port or conn.imap_port
        conn.smtp_host, conn.smtp_port = smtp_host or conn.smtp_host, smtp_port or conn.smtp_port
    _store(conn, token)
    conn.secret_sealed = None
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
        token = _refresh(conn.oauth_provider or "oauth", refresh)
    except GrantRefused as exc:
        if exc.error in GRANT_ERRORS:
            health.failed(conn, f"{exc.error}: the provider no longer accepts this connection", reauthorize=True)
        else:
            health.failed(conn, f"token refresh failed: {exc.error}")
        return None
    except NotConfigured as exc:
        health.failed(conn, str(exc))
        return None
    except Exception as exc:  # unreachable provider: counts towards "failing", the token may still work
        health.failed(conn, f"token refresh failed: {type(exc).__name__}")
        return current if conn.token_expires_at and conn.token_expires_at > utcnow() else None
    _store(conn, token)
    commit(get_session())
    return str(token["access_token"])


def disconnect(conn: EmailConnection) -> None:
    """Revoke the refresh token at the provider (best effort) and delete both tokens."""
    refresh = unseal(conn.refresh_sealed, PURPOSE)
    if refresh:
        try:
            _revoke(conn.oauth_provider or "oauth", refresh)
        except Exception:
            log.warning("mailbox %s: revoking the refresh token failed", conn.id)
    conn.access_sealed = conn.refresh_sealed = None
    conn.token_expires_at = None
    conn.status = "disconnected"
    commit(get_session())
