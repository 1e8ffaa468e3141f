"""Microsoft 365 against a loopback stand-in of Microsoft's identity platform and Graph's mail API (https
with a throwaway CA), driven by the real msal (code flow with PKCE, refresh) and Graph REST calls: change
notifications with the validationToken handshake and clientState, delta links (410 restarts), lifecycle
events, sendMail, health and reconnect. The stand-in's notifications reach the app served on loopback."""
from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from bayline_email import channel, graph, oauth
from bayline_email.models import EmailConnection, EmailMessage
from bayline_email.testing.microsoft import MicrosoftServer
from email_helpers import DOMAIN, conn_of, count, finish_oauth, mail, rows
from sqlalchemy import select

from bayline.plugin_api import unseal, utcnow
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import wait_until


@pytest.fixture
def microsoft(tmp_path) -> Iterator[MicrosoftServer]:
    server = MicrosoftServer(tmp_path / "ms-tls").start()
    yield server
    assert server.problems == []
    server.stop()


@pytest.fixture
def app_config(microsoft, live_port) -> dict:
    public = f"http://127.0.0.1:{live_port}"
    microsoft.redirect_uris.append(f"{public}/plugins/email/oauth/callback")
    return {"BAYLINE_PLUGIN_EMAIL_INBOUND_DOMAIN": DOMAIN, "public_url": public,
            "BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 30, **microsoft.settings(),
            "BAYLINE_PLUGIN_EMAIL_MICROSOFT_NOTIFICATIONS": "1"}


def connect(s, microsoft, address=None):
    address = address or f"shop-{uuid.uuid4().hex[:6]}@contoso.test"
    microsoft.add_mailbox(address)
    page = s.console.get("/plugins/email/connections")
    assert b"Sign in with Microsoft 365" in page.data
    start = s.console.post("/plugins/email/oauth/start", data={"csrf_token": csrf_token(page),
                                                                "provider": "microsoft", "address": address})
    done = finish_oauth(s.console, start, "http://127.0.0.1:", verify=microsoft.certs.ca)
    assert done.status_code == 302, done.data[:800]
    return address



def parsed(raw):
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(raw)


def test_connect_notifications_reply_threading_and_the_answer_on_the_same_thread(
        app, email_shop, microsoft, live_server, inbound_smtp):
    s = email_shop()
    address = connect(s, microsoft)
    conn = conn_of(app, s.shop)
    assert (conn.kind, conn.auth, conn.oauth_provider, conn.address) == ("graph", "oauth", "microsoft", address)
    assert conn.sync_cursor and "$deltatoken=" in conn.sync_cursor and conn.status == "ok"
    [sub] = microsoft.subscriptions.values()
    assert conn.push_id == sub.id and sub.client_state and sub.client_state not in (conn.push_secret_hash or "")
    assert sub.resource == "me/mailFolders('inbox')/messages" and conn.push_expires_at is not None
    with app.app_context():
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == microsoft.tokens[-1].refresh_token
    first = microsoft.deliver(address, mail(frm=s.claim.adjuster_email, to=address, message_id="<adj.ms@insurer.test>",
                                            subject=f"Claim BM-{s.tag}-77: photos needed"))
    wait_until(lambda: count(app, s.shop) == 1, "the notified message on the claim")
    [row] = rows(app, s.shop)
    assert (row.claim_id, row.audience, row.match_signal) == (s.claim.id, "adjuster", "identifier")
    assert row.provider_id == f"graph:{conn.id}:{first.id}"
    page = s.console.get(f"/console/claims/{s.claim.id}")
    resp = s.console.post(f"/plugins/email/claims/{s.claim.id}/adjuster", data={
        "csrf_token": csrf_token(page), "body": "Photos attached.", "idempotency_key": "k1"})
    assert resp.status_code == 302
    [sent] = microsoft.mailboxes[address].sent
    message = parsed(sent.raw)
    assert message["In-Reply-To"] == "<adj.ms@insurer.test>" and "<adj.ms@insurer.test>" in message["References"]
    assert message["Subject"] == f"Re: Claim BM-{s.tag}-77: photos needed" and message["From"] == address
    assert message["Reply-To"].startswith(f"reply+{s.shop.id}.{s.claim.id}.a.")
    assert sent.conversation_id == first.conversation_id  # Exchange threads it into the conversation
    out = rows(app, s.shop)[-1]
    assert (out.direction, out.delivery_state, out.message_id) == ("out", "sent", message["Message-ID"])
    with smtplib.SMTP(inbound_smtp.hostname, inbound_smtp.port, timeout=120) as client:
        client.sendmail("assistant@insurer.test", [message["Reply-To"]],
                        mail(frm="assistant@insurer.test", to=message["Reply-To"], subject="AW: [EXT] x",
                             body="Got them."))
    answer = rows(app, s.shop)[-1]
    assert (answer.claim_id, answer.audience, answer.match_signal) == (s.claim.id, "adjuster", "reply_token")
    microsoft.deliver(address, mail(frm="new.person@insurer.test", to=address, subject="re",
                                    in_reply_to=message["Message-ID"], references=message["Message-ID"]))
    wait_until(lambda: count(app, s.shop) == 4, "the in-thread answer")
    assert rows(app, s.shop)[-1].claim_id == s.claim.id


def test_customer_email_reaches_the_open_portal_live(app, email_shop, microsoft, live_server, portal_client):
    from bayline.testing.sse import read_until

    s = email_shop()
    address = connect(s, microsoft)
    stream = portal_client(s.claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="Done?", body="Is it done?"))
    read_until(stream, "message.received")
    stream.close()
    assert b"Is it done?" in portal_client(s.claim).get("/c/s/").data


def test_rerun_imports_nothing_twice_the_reconciler_catches_missed_notifications_and_410_restarts(
        app, email_shop, microsoft, live_server):
    s = email_shop()
    address = connect(s, microsoft)
    microsoft.drop_notifications = True
    for n in range(3):  # more than one delta page: nextLink is followed
        microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject=f"Missed {n}"))
    assert count(app, s.shop) == 0
    from bayline_email.tasks import reconcile

    with app.app_context():
        assert reconcile.apply().get() == 3
        assert reconcile.apply().get() == 0
    microsoft.expire_delta_links(address)
    microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="After expiry"))
    with app.app_context():
        assert reconcile.apply().get() == 1  # 410: the delta restarted, the three stored are skipped
    assert count(app, s.shop) == 4 and conn_of(app, s.shop).status == "ok"


def test_refresh_only_near_expiry_with_msal_and_the_rotated_token_kept(app, email_shop, microsoft, live_server):
    s = email_shop()
    connect(s, microsoft)
    with in_tenant(app, s.shop.id) as session:
        conn = session.scalars(select(EmailConnection)).one()
        before = len(microsoft.tokens)
        assert graph.sync(conn) == 0 and len(microsoft.tokens) == before
        old = microsoft.tokens[-1]
        conn.token_expires_at = utcnow() + timedelta(minutes=1)
        session.commit()
        assert graph.sync(conn) == 0 and conn.status == "ok"
        assert len(microsoft.tokens) == before + 1 and old.revoked
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == microsoft.tokens[-1].refresh_token != old.refresh_token


def test_a_dead_refresh_token_shows_the_banner_emails_the_owner_and_reconnect_resumes(
        app, email_shop, microsoft, live_server):
    s = email_shop()
    address = connect(s, microsoft)
    microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="Before"))
    wait_until(lambda: count(app, s.shop) == 1, "the first message")
    microsoft.revoke_all()
    with in_tenant(app, s.shop.id) as session:
        session.scalars(select(EmailConnection)).one().token_expires_at = utcnow()
        session.commit()
    microsoft.drop_notifications = True
    microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="While broken"))
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    from bayline_email.tasks import reconcile

    with app.app_context():
        reconcile.apply().get()
        reconcile.apply().get()
    conn = conn_of(app, s.shop)
    assert conn.status == "reauthorize" and "invalid_grant" in conn.last_error
    assert [m["to"] for m in sent] == [s.owner.email]
    page = s.console.get("/plugins/email/")
    assert b"email-banner" in page.data and b"email-reconnect" in page.data
    start = s.console.post(f"/plugins/email/connections/{conn.id}/reconnect", data={"csrf_token": csrf_token(page)})
    assert finish_oauth(s.console, start, "http://127.0.0.1:", verify=microsoft.certs.ca).status_code == 302
    assert conn_of(app, s.shop).status == "ok"
    assert [r.subject for r in rows(app, s.shop)] == ["Before", "While broken"]


def test_lifecycle_events(app, email_shop, microsoft, live_server):
    s = email_shop()
    address = connect(s, microsoft)
    first = conn_of(app, s.shop).push_id
    microsoft.lifecycle(address, "reauthorizationRequired")  # reauthorized at once: nothing for the owner
    assert conn_of(app, s.shop).status == "ok"
    microsoft.lifecycle(address, "subscriptionRemoved")  # subscribed again
    assert conn_of(app, s.shop).push_id not in (None, first) and list(microsoft.subscriptions) == [
        conn_of(app, s.shop).push_id]
    microsoft.drop_notifications = True
    microsoft.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="Missed"))
    microsoft.lifecycle(address, "missed")  # Graph says it dropped some: a delta sync catches them
    assert count(app, s.shop) == 1
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    microsoft.refuse_reauthorize = True
    microsoft.lifecycle(address, "reauthorizationRequired")
    conn = conn_of(app, s.shop)
    assert conn.status == "reauthorize" and "reauthorize" in conn.last_error
    assert [m["to"] for m in sent] == [s.owner.email]


def test_notification_bad_input(app, email_shop, microsoft, live_server):
    s = email_shop()
    connect(s, microsoft)
    conn = conn_of(app, s.shop)
    client = app.test_client()
    echo = client.post("/plugins/email/push/graph?validationToken=abc%3Cscript%3E")
    assert echo.status_code == 200 and echo.data == b"abc<script>" and echo.content_type.startswith("text/plain")
    bad = client.post("/plugins/email/push/graph", data=b"{no", content_type="application/json")
    assert bad.status_code == 400 and bad.json["code"] == "malformed"
    assert client.post("/plugins/email/push/graph", json={"value": "x"}).json["code"] == "malformed"
    forged = client.post("/plugins/email/push/graph", json={"value": [{"subscriptionId": conn.push_id,
                                                                        "clientState": "guessed"}]})
    assert forged.status_code == 401 and forged.json["code"] == "invalid_client_state"
    unknown = client.post("/plugins/email/push/graph/lifecycle", json={"value": [{
        "subscriptionId": str(uuid.uuid4()), "clientState": "x", "lifecycleEvent": "missed"}]})
    assert unknown.status_code == 401
    assert client.post("/plugins/email/push/graph", json={"value": []}).status_code == 202
    assert conn_of(app, s.shop).status == "ok" and count(app, s.shop) == 0


def test_disconnect_deletes_the_subscription_and_the_tokens(app, email_shop, microsoft, live_server):
    s = email_shop()
    connect(s, microsoft)
    conn = conn_of(app, s.shop)
    page = s.console.get("/plugins/email/connections")
    assert s.console.post(f"/plugins/email/connections/{conn.id}/disconnect",
                          data={"csrf_token": csrf_token(page)}).status_code == 302
    assert microsoft.subscriptions == {}
    conn = conn_of(app, s.shop)
    assert conn.status == "disconnected" and conn.refresh_sealed is None and conn.push_id is None


def test_a_retried_send_finds_its_sent_copy_and_never_mails_twice(app, email_shop, microsoft, live_server):
    s = email_shop()
    address = connect(s, microsoft)
    from bayline.plugin_api import Claim, outbox

    with in_tenant(app, s.shop.id) as session:
        item, _ = outbox.enqueue(channel="email", purpose="transactional", recipient=s.claim.customer_email,
                                 body="Ready.", idempotency_key=f"ready:{uuid.uuid4().hex}",
                                 claim=session.get(Claim, s.claim.id), kind="automatic", subject="Ready")
        assert item.state == "sent", item.reason
        session.query(EmailMessage).delete()
        session.commit()
        item.attempts = 2
        assert channel.deliver(item, "Ready.", f"{item.tenant_id}:{item.idempotency_key}")["state"] == "sent"
    assert len(microsoft.mailboxes[address].sent) == 1


def test_repeated_failures_show_the_banner_and_email_the_owner_once(app, email_shop, microsoft, live_server):
    s = email_shop()
    address = connect(s, microsoft)
    microsoft.unavailable = True
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    from bayline_email.tasks import reconcile

    with app.app_context():
        for _ in range(2):
            reconcile.apply().get()
        assert conn_of(app, s.shop).status == "ok" and sent == []  # two blips are not an alert
        for _ in range(2):
            reconcile.apply().get()
    conn = conn_of(app, s.shop)
    assert conn.status == "failing" and "503" in conn.last_error and conn.failures == 4
    assert [m["to"] for m in sent] == [s.owner.email] and address in sent[0]["subject"]
    assert b"is failing to sync" in s.console.get(f"/console/claims/{s.claim.id}").data
    microsoft.unavailable = False
    with app.app_context():
        reconcile.apply().get()
    assert conn_of(app, s.shop).status == "ok"
    assert b"email-banner" not in s.console.get(f"/console/claims/{s.claim.id}").data
