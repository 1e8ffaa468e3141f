"""OAuth 2.0 connections against an Authlib authorization server on loopback: the code flow through
the console, refresh only near expiry, refresh-token rotation stored, invalid_grant -> banner and one
email to the owner, reconnect, and revocation on disconnect."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from bayline_email import oauth
from bayline_email.models import EmailConnection
from bayline_email.testing.oauth_server import OAuthServer
from email_helpers import DOMAIN
from sqlalchemy import select

from bayline.plugin_api import unseal, utcnow
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

CALLBACK = "http://localhost/plugins/email/oauth/callback"


@pytest.fixture
def auth_server() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    server.allow_redirect(CALLBACK)
    yield server
    server.stop()


@pytest.fixture
def app_config(auth_server) -> dict:
    return {"BAYLINE_PLUGIN_EMAIL_INBOUND_DOMAIN": DOMAIN, **auth_server.settings()}


def _connect(s, address="owner@harbor.test"):
    page = s.console.get("/plugins/email/connections")
    start = s.console.post("/plugins/email/oauth/start", data={"csrf_token": csrf_token(page), "address": address,
                                                                "imap_host": "imap.harbor.test", "imap_port": "993"})
    assert start.status_code == 302 and start.headers["Location"].startswith("http://127.0.0.1:")
    # the owner approves at the provider, which redirects back with the code
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=60)
    assert approved.status_code == 302 and approved.headers["Location"].startswith(CALLBACK)
    query = parse_qs(urlparse(approved.headers["Location"]).query)
    finish_page = s.console.get(urlparse(approved.headers["Location"]).path + "?" +
                                urlparse(approved.headers["Location"]).query)
    assert finish_page.status_code == 200 and b"email-oauth-finish" in finish_page.data
    done = s.console.post("/plugins/email/oauth/finish", data={"csrf_token": csrf_token(finish_page),
                                                                "code": query["code"][0], "state": query["state"][0]})
    assert done.status_code == 302, done.data[:500]


def _conn(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.scalars(select(EmailConnection)).one()


def test_code_flow_stores_sealed_tokens(app, email_shop, auth_server):
    s = email_shop()
    _connect(s)
    conn = _conn(app, s.shop)
    assert conn.auth == "oauth" and conn.status == "ok"
    issued = auth_server.tokens[-1]
    assert issued.access_token not in (conn.access_sealed or "") and issued.refresh_token not in conn.refresh_sealed
    with app.app_context():
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == issued.refresh_token


def test_refresh_only_near_expiry_and_the_rotated_token_is_kept(app, email_shop, auth_server):
    s = email_shop()
    _connect(s)
    with in_tenant(app, s.shop.id) as session:
        conn = session.scalars(select(EmailConnection)).one()
        first = auth_server.tokens[-1]
        assert oauth.access_token(conn) == first.access_token
        assert [r for r, _ in auth_server.requests].count("token") == 1  # no refresh while it lives
        conn.token_expires_at = utcnow() + timedelta(minutes=2)  # inside the margin
        session.commit()
        second = oauth.access_token(conn)
        assert second != first.access_token and first.revoked  # rotation: the old refresh token is dead
        rotated = auth_server.tokens[-1]
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == rotated.refresh_token != first.refresh_token
        conn.token_expires_at = utcnow()
        session.commit()
        assert oauth.access_token(conn) == auth_server.tokens[-1].access_token  # the rotated one works


def test_invalid_grant_shows_the_banner_emails_the_owner_once_and_reconnect_heals(app, email_shop, auth_server):
    s = email_shop()
    _connect(s)
    auth_server.revoke_all()  # the user removed the app's access at the provider
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    with in_tenant(app, s.shop.id) as session:
        conn = session.scalars(select(EmailConnection)).one()
        conn.token_expires_at = utcnow()
        session.commit()
        assert oauth.access_token(conn) is None
        assert oauth.access_token(conn) is None
        assert conn.status == "reauthorize" and "invalid_grant" in conn.last_error
    assert [m["to"] for m in sent] == [s.owner.email]
    page = s.console.get(f"/console/claims/{s.claim.id}")
    assert b"email-banner" in page.data and b"must be reconnected" in page.data
    _connect(s)  # one-click reconnect: same mailbox, same cursor
    conn = _conn(app, s.shop)
    assert conn.status == "ok" and conn.owner_notified_at is None


def test_disconnect_revokes_the_refresh_token(app, email_shop, auth_server):
    s = email_shop()
    _connect(s)
    conn = _conn(app, s.shop)
    page = s.console.get("/plugins/email/connections")
    resp = s.console.post(f"/plugins/email/connections/{conn.id}/disconnect", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    assert ("revoke" in [r for r, _ in auth_server.requests]) and auth_server.tokens[-1].revoked
    conn = _conn(app, s.shop)
    assert conn.status == "disconnected" and conn.refresh_sealed is None and conn.access_sealed is None


def test_a_forged_state_is_refused(app, email_shop, auth_server):
    s = email_shop()
    page = s.console.get("/plugins/email/connections")
    s.console.post("/plugins/email/oauth/start", data={"csrf_token": csrf_token(page), "address": "o@harbor.test"})
    finish = s.console.get("/plugins/email/oauth/callback?code=abc&state=forged")
    resp = s.console.post("/plugins/email/oauth/finish", data={"csrf_token": csrf_token(finish), "code": "abc",
                                                                "state": "forged"})
    assert resp.status_code == 422 and b"start again" in resp.data
    with in_tenant(app, s.shop.id) as session:
        assert session.scalars(select(EmailConnection)).all() == []
