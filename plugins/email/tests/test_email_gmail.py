"""Gmail over OAuth against loopback stand-ins: Google's OAuth endpoints (Authlib's authorization server)
and Gmail's REST API (:class:`GmailServer`, checked against the discovery document google-api-python-client
ships), driven by the real google-api-python-client and google-auth. Pub/Sub push reaches the app served
on loopback, as it reaches the public URL in production."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from bayline_email import channel, gmail, oauth
from bayline_email.models import EmailConnection, EmailMessage
from bayline_email.testing.gmail import GmailServer
from bayline_email.testing.oauth_server import OAuthServer
from email_helpers import DOMAIN, conn_of, count, finish_oauth, mail, rows
from sqlalchemy import select

from bayline.plugin_api import unseal, utcnow
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import wait_until

TOPIC = "projects/bayline-test/topics/gmail"
PUSH_TOKEN = "push-token-" + "x" * 20


@pytest.fixture
def google() -> Iterator[OAuthServer]:
    server = OAuthServer(client_id="google-client", client_secret="google-secret").start()
    yield server
    server.stop()


@pytest.fixture
def gmail_api(google) -> Iterator[GmailServer]:
    server = GmailServer(google).start()
    yield server
    assert server.problems == []  # every request and answer matched the discovery document
    server.stop()


@pytest.fixture
def app_config(google, gmail_api, live_port) -> dict:
    public = f"http://127.0.0.1:{live_port}"
    google.allow_redirect(f"{public}/plugins/email/oauth/callback")
    gmail_api.push_url = f"{public}/plugins/email/push/gmail?token={PUSH_TOKEN}"
    return {"BAYLINE_PLUGIN_EMAIL_INBOUND_DOMAIN": DOMAIN, "public_url": public,
            "BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 30,
            **google.google_settings(gmail_api.base), "BAYLINE_PLUGIN_EMAIL_GOOGLE_PUBSUB_TOPIC": TOPIC,
            "BAYLINE_PLUGIN_EMAIL_GOOGLE_PUSH_TOKEN": PUSH_TOKEN}


def connect(s, gmail_api, address=None):
    address = address or f"shop-{uuid.uuid4().hex[:6]}@gmail.test"
    gmail_api.add_mailbox(address)
    page = s.console.get("/plugins/email/connections")
    assert b"Sign in with Gmail" in page.data and b"yearly security assessment" in page.data
    start = s.console.post("/plugins/email/oauth/start", data={"csrf_token": csrf_token(page), "provider": "google",
                                                                "address": address})
    done = finish_oauth(s.console, start, "http://127.0.0.1:")
    assert done.status_code == 302, done.data[:800]
    return address



def test_connect_push_reply_threading_and_the_answer_on_the_same_thread(
        app, email_shop, google, gmail_api, live_server, inbound_smtp):
    s = email_shop()
    address = connect(s, gmail_api)
    conn = conn_of(app, s.shop)
    assert (conn.kind, conn.auth, conn.oauth_provider, conn.address) == ("gmail", "oauth", "google", address)
    assert conn.sync_cursor and conn.push_expires_at is not None and conn.status == "ok"
    issued = google.tokens[-1]
    assert issued.refresh_token not in (conn.refresh_sealed or "")
    with app.app_context():
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == issued.refresh_token
    assert any(p == "/gmail/v1/users/me/watch" for _, p, _ in gmail_api.requests)
    # the adjuster writes to the shop's Gmail: Pub/Sub pushes, the app syncs the history, files it
    first = gmail_api.deliver(address, mail(frm=s.claim.adjuster_email, to=address, message_id="<adj.1@insurer.test>",
                                            subject=f"Claim BM-{s.tag}-77: supplement request"))
    wait_until(lambda: count(app, s.shop) == 1, "the pushed Gmail message on the claim")
    [row] = rows(app, s.shop)
    assert (row.claim_id, row.audience, row.match_signal) == (s.claim.id, "adjuster", "identifier")
    assert row.provider_id == f"gmail:{conn.id}:{first.id}"
    assert row.provider_thread == f"gmail:{conn.id}:{first.thread_id}"
    # a console reply leaves through Gmail's messages.send, threaded both ways
    page = s.console.get(f"/console/claims/{s.claim.id}")
    resp = s.console.post(f"/plugins/email/claims/{s.claim.id}/adjuster", data={
        "csrf_token": csrf_token(page), "body": "Supplement attached, please review.", "idempotency_key": "k1"})
    assert resp.status_code == 302
    [sent] = gmail_api.sent(address)
    assert sent.thread_id == first.thread_id
    message = sent_message(sent.raw)
    assert message["In-Reply-To"] == "<adj.1@insurer.test>" and "<adj.1@insurer.test>" in message["References"]
    assert message["Subject"] == f"Re: Claim BM-{s.tag}-77: supplement request" and message["From"] == address
    assert message["Reply-To"].startswith(f"reply+{s.shop.id}.{s.claim.id}.a.")
    out = rows(app, s.shop)[-1]
    assert (out.direction, out.delivery_state, out.claim_id) == ("out", "sent", s.claim.id)
    assert out.provider_id == f"gmail:{conn.id}:{sent.id}" and out.message_id == message["Message-ID"]
    # the adjuster answers from a client that rewrites every header: the reply address files it
    import smtplib

    with smtplib.SMTP(inbound_smtp.hostname, inbound_smtp.port, timeout=120) as client:
        client.sendmail("assistant@insurer.test", [message["Reply-To"]],
                        mail(frm="assistant@insurer.test", to=message["Reply-To"], subject="RE: [EXT] your note",
                             body="Approved."))
    answer = rows(app, s.shop)[-1]
    assert (answer.claim_id, answer.audience, answer.match_signal) == (s.claim.id, "adjuster", "reply_token")
    # and an answer that reaches the Gmail inbox with the threading headers follows them
    gmail_api.deliver(address, mail(frm="someone.new@insurer.test", to=address, subject="re: that",
                                    in_reply_to=message["Message-ID"], references=message["Message-ID"]))
    wait_until(lambda: count(app, s.shop) == 4, "the in-thread answer")
    last = rows(app, s.shop)[-1]
    assert (last.claim_id, last.audience) == (s.claim.id, "adjuster") and last.match_signal in ("headers", "thread")


def sent_message(raw):
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(raw)


def test_customer_email_reaches_the_open_portal_live(app, email_shop, gmail_api, live_server, portal_client):
    from bayline.testing.sse import read_until

    s = email_shop()
    address = connect(s, gmail_api)
    stream = portal_client(s.claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="Paint?", body="Is it painted?"))
    read_until(stream, "message.received")
    stream.close()
    assert b"Is it painted?" in portal_client(s.claim).get("/c/s/").data


def test_rerun_imports_nothing_twice_the_reconciler_catches_a_missed_push_and_404_resyncs(
        app, email_shop, gmail_api, live_server):
    s = email_shop()
    address = connect(s, gmail_api)
    gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="One"))
    wait_until(lambda: count(app, s.shop) == 1, "the pushed message")
    gmail_api.drop_pushes = True  # Pub/Sub lost these
    for n in range(3):  # more than a history page: the client follows nextPageToken
        gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject=f"Missed {n}"))
    assert count(app, s.shop) == 1
    from bayline_email.tasks import reconcile

    with app.app_context():
        assert reconcile.apply().get() == 3
        assert reconcile.apply().get() == 0  # re-running imports nothing twice
    assert count(app, s.shop) == 4
    # Google no longer keeps the cursor's history: 404, a full resync, still nothing twice
    gmail_api.forget_history_before(address, gmail_api.history_counter + 1)
    gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="After the gap"))
    with app.app_context():
        assert reconcile.apply().get() == 1
    assert count(app, s.shop) == 5
    assert conn_of(app, s.shop).sync_cursor == str(gmail_api.history_counter - 0)


def test_refresh_only_near_expiry_with_google_auth_and_the_rotated_token_kept(app, email_shop, google, gmail_api,
                                                                           live_server):
    s = email_shop()
    connect(s, gmail_api)
    with in_tenant(app, s.shop.id) as session:
        conn = session.scalars(select(EmailConnection)).one()
        before = [r for r, _ in google.requests].count("token")
        assert gmail.sync(conn) == 0
        assert [r for r, _ in google.requests].count("token") == before  # the token lives: no refresh
        old = google.tokens[-1]
        conn.token_expires_at = utcnow() + timedelta(minutes=2)
        session.commit()
        assert gmail.sync(conn) == 0 and conn.status == "ok"
        assert [r for r, _ in google.requests].count("token") == before + 1 and old.revoked
        assert unseal(conn.refresh_sealed, oauth.PURPOSE) == google.tokens[-1].refresh_token != old.refresh_token


def test_a_dead_refresh_token_shows_the_banner_emails_the_owner_and_reconnect_resumes(
        app, email_shop, google, gmail_api, live_server):
    s = email_shop()
    address = connect(s, gmail_api)
    gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="Before"))
    wait_until(lambda: count(app, s.shop) == 1, "the first message")
    cursor = conn_of(app, s.shop).sync_cursor
    google.revoke_all()  # the owner removed the app's access in their Google account
    with in_tenant(app, s.shop.id) as session:  # an hour later: the access token is due for a refresh
        session.scalars(select(EmailConnection)).one().token_expires_at = utcnow()
        session.commit()
    gmail_api.drop_pushes = True
    gmail_api.deliver(address, mail(frm=s.claim.customer_email, to=address, subject="While broken"))
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    from bayline_email.tasks import reconcile

    with app.app_context():
        reconcile.apply().get()
        reconcile.apply().get()
    conn = conn_of(app, s.shop)
    assert conn.status == "reauthorize" and "invalid_grant" in conn.last_error
    assert [m["to"] for m in sent] == [s.owner.email] and address in sent[0]["subject"]
    page = s.console.get(f"/console/claims/{s.claim.id}")
    assert b"email-banner" in page.data and b"email-reconnect" in page.data
    # one click: the reconnect button goes straight to Google with the mailbox named
    start = s.console.post(f"/plugins/email/connections/{conn.id}/reconnect", data={"csrf_token": csrf_token(page)})
    assert f"login_hint={address.replace('@', '%40')}" in start.headers["Location"]
    assert finish_oauth(s.console, start, "http://127.0.0.1:").status_code == 302
    conn = conn_of(app, s.shop)
    assert conn.status == "ok" and conn.owner_notified_at is None
    assert [r.subject for r in rows(app, s.shop)] == ["Before", "While broken"]  # resumed from the cursor
    assert cursor is not None and int(conn.sync_cursor) > int(cursor)


def test_disconnect_stops_the_watch_and_revokes_at_google(app, email_shop, google, gmail_api, live_server):
    s = email_shop()
    address = connect(s, gmail_api)
    conn = conn_of(app, s.shop)
    page = s.console.get("/plugins/email/connections")
    assert s.console.post(f"/plugins/email/connections/{conn.id}/disconnect",
                          data={"csrf_token": csrf_token(page)}).status_code == 302
    assert gmail_api.mailboxes[address].watch_topic is None
    assert ("revoke", {"token": google.tokens[-1].refresh_token}) in google.requests and google.tokens[-1].revoked
    conn = conn_of(app, s.shop)
    assert conn.status == "disconnected" and conn.refresh_sealed is None and conn.access_sealed is None


def test_a_retried_send_finds_its_sent_copy_and_never_mails_twice(app, email_shop, gmail_api, live_server):
    s = email_shop()
    address = connect(s, gmail_api)
    from bayline.plugin_api import Claim, outbox

    with in_tenant(app, s.shop.id) as session:
        item, _ = outbox.enqueue(channel="email", purpose="transactional", recipient=s.claim.customer_email,
                                 body="Ready for pickup.", idempotency_key=f"ready:{uuid.uuid4().hex}",
                                 claim=session.get(Claim, s.claim.id), kind="automatic", subject="Ready")
        assert item.state == "sent", item.reason
        session.query(EmailMessage).delete()  # as if the worker died after Gmail took it, before our commit
        session.commit()
        item.attempts = 2
        again = channel.deliver(item, "Ready for pickup.", f"{item.tenant_id}:{item.idempotency_key}")
        assert again["state"] == "sent"
    assert len(gmail_api.sent(address)) == 1


def test_push_bad_input_and_other_shops(app, email_shop, gmail_api, live_server, client_for):
    import base64
    import json

    a, b = email_shop("Harbor A"), email_shop("Harbor B")
    address = connect(a, gmail_api)
    client = a.console.application.test_client()

    def envelope(data):
        return {"message": {"data": base64.b64encode(json.dumps(data).encode()).decode(), "messageId": "1"}}

    url = "/plugins/email/push/gmail"
    wrong = client.post(f"{url}?token=nope", json=envelope({"emailAddress": address, "historyId": 1}))
    assert wrong.status_code == 401 and wrong.json["code"] == "invalid_token"
    assert client.post(url, json=envelope({"emailAddress": address})).status_code == 401
    bad = client.post(f"{url}?token={PUSH_TOKEN}", data=b"{not json", content_type="text/plain")
    assert bad.status_code == 400 and bad.json["code"] == "malformed"
    for body in ({"message": "x"}, {"message": {"data": "!!!"}}, envelope(["list"]), envelope({"historyId": 5})):
        got = client.post(f"{url}?token={PUSH_TOKEN}", json=body)
        assert got.status_code == 400 and got.json["code"] == "malformed", body
    unknown = client.post(f"{url}?token={PUSH_TOKEN}", json=envelope({"emailAddress": "x@gmail.test", "historyId": 9}))
    assert unknown.status_code == 200 and unknown.json["mailboxes"] == 0
    gmail_api.drop_pushes = True
    gmail_api.deliver(address, mail(frm=a.claim.customer_email, to=address, subject="For A only"))
    ok = client.post(f"{url}?token={PUSH_TOKEN}", json=envelope({"emailAddress": address.upper(), "historyId": 9}))
    assert ok.status_code == 200 and ok.json["mailboxes"] == 1
    assert count(app, a.shop) == 1 and count(app, b.shop) == 0
