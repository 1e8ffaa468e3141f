"""IMAP against a real Dovecot on loopback: sync with the UIDVALIDITY/UID cursor, IDLE push, the
periodic reconciler, re-runs that import nothing twice, and connection health (a refused login shows
the banner and emails the owner once; reconnecting resumes from the cursor)."""
from __future__ import annotations

import threading
import uuid

from bayline_email import imap, service
from bayline_email.models import EmailConnection, EmailMessage
from email_helpers import mail
from sqlalchemy import func, select

from bayline.plugin_api import seal
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import wait_until


def _mailbox(app, dovecot, shop, password="imap-pass-1"):
    user = f"box-{uuid.uuid4().hex[:8]}@harbor.test"
    dovecot.add_user(user, password)
    with in_tenant(app, shop.id):
        conn = service.connect_imap(address=user, imap_host=dovecot.host, imap_port=dovecot.port, username=user,
                                    password=password, imap_ssl=False)
        return user, conn.id


def _count(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(func.count(EmailMessage.id)))


def _sync(app, shop, conn_id):
    with in_tenant(app, shop.id) as session:
        return imap.sync(session.get(EmailConnection, conn_id))


def test_secret_is_sealed_at_rest(app, email_shop, dovecot):
    s = email_shop()
    _, conn_id = _mailbox(app, dovecot, s.shop, password="very-secret-pw")
    with in_tenant(app, s.shop.id) as session:
        conn = session.get(EmailConnection, conn_id)
        assert "very-secret-pw" not in (conn.secret_sealed or "") and service.secret(conn) == "very-secret-pw"


def test_sync_files_adjuster_mail_and_a_rerun_imports_nothing_twice(app, email_shop, dovecot):
    s = email_shop()
    user, conn_id = _mailbox(app, dovecot, s.shop)
    dovecot.append(user, mail(frm="desk@insurer.test", to=user, subject=f"Claim BM-{s.tag}-77: supplement approved"))
    dovecot.append(user, mail(frm=s.claim.customer_email, to=user, subject="Pickup?"))
    assert _sync(app, s.shop, conn_id) == 2
    with in_tenant(app, s.shop.id) as session:
        rows = session.scalars(select(EmailMessage).order_by(EmailMessage.id)).all()
        assert [(r.claim_id, r.audience) for r in rows] == [(s.claim.id, "adjuster"), (s.claim.id, "customer")]
        conn = session.get(EmailConnection, conn_id)
        assert conn.last_uid == 2 and conn.uidvalidity and conn.last_received_at is not None
        assert rows[0].provider_id == f"imap:{conn_id}:{conn.uidvalidity}:1"
    assert _sync(app, s.shop, conn_id) == 0 and _count(app, s.shop) == 2
    with in_tenant(app, s.shop.id) as session:  # a lost cursor (or a new UIDVALIDITY) rescans: still once
        session.get(EmailConnection, conn_id).last_uid = 0
        session.commit()
    assert _sync(app, s.shop, conn_id) == 0 and _count(app, s.shop) == 2


def test_idle_push_imports_new_mail_as_it_arrives(app, email_shop, dovecot):
    s = email_shop()
    user, conn_id = _mailbox(app, dovecot, s.shop)
    idling = threading.Event()
    stop = threading.Event()
    watcher = threading.Thread(target=imap.watch, args=(app, s.shop.id, conn_id, stop),
                               kwargs={"on_idle": idling.set, "idle_seconds": 2}, daemon=True)
    watcher.start()
    try:
        wait_until(idling.is_set, "the watcher to enter IDLE")
        dovecot.append(user, mail(frm="desk@insurer.test", to=user, subject=f"BM-{s.tag}-77 pushed"))
        wait_until(lambda: _count(app, s.shop) == 1, "the pushed message to be imported")
    finally:
        stop.set()
        watcher.join()
    with in_tenant(app, s.shop.id) as session:
        assert session.scalars(select(EmailMessage)).one().claim_id == s.claim.id


def test_the_reconciler_catches_a_missed_push(app, email_shop, dovecot):
    s = email_shop()
    user, _ = _mailbox(app, dovecot, s.shop)
    dovecot.append(user, mail(frm="desk@insurer.test", to=user, subject=f"BM-{s.tag}-77 while nobody watched"))
    from bayline_email.tasks import reconcile

    with app.app_context():
        assert reconcile.apply().get() >= 1
        assert reconcile.apply().get() == 0
    assert _count(app, s.shop) == 1


def test_a_refused_login_shows_the_banner_emails_the_owner_and_reconnect_resumes(app, email_shop, dovecot):
    s = email_shop()
    user, conn_id = _mailbox(app, dovecot, s.shop, password="changed-pass")
    dovecot.append(user, mail(frm="desk@insurer.test", to=user, subject=f"BM-{s.tag}-77 one"))
    assert _sync(app, s.shop, conn_id) == 1
    with in_tenant(app, s.shop.id) as session:  # the stored password is the old one: the server refuses it
        session.get(EmailConnection, conn_id).secret_sealed = seal("first-pass", service.SECRET_PURPOSE)
        session.commit()
    dovecot.append(user, mail(frm="desk@insurer.test", to=user, subject=f"BM-{s.tag}-77 two"))
    sent = app.extensions.setdefault("bayline.outbox", [])
    sent.clear()
    assert _sync(app, s.shop, conn_id) == 0
    assert _sync(app, s.shop, conn_id) == 0  # a second failure emails nobody again
    with in_tenant(app, s.shop.id) as session:
        assert session.get(EmailConnection, conn_id).status == "reauthorize"
    assert [m["to"] for m in sent] == [s.owner.email] and user in sent[0]["subject"]
    assert "first-pass" not in sent[0]["body"] and "changed-pass" not in sent[0]["body"]
    page = s.console.get(f"/console/claims/{s.claim.id}")
    assert b"email-banner" in page.data and b"must be reconnected" in page.data
    form = s.console.get("/plugins/email/connections")
    resp = s.console.post("/plugins/email/connections", data={
        "csrf_token": csrf_token(form), "address": user, "imap_host": dovecot.host, "imap_port": str(dovecot.port),
        "username": user, "password": "changed-pass", "smtp_security": "starttls"})
    assert resp.status_code == 302
    with in_tenant(app, s.shop.id) as session:
        conn = session.get(EmailConnection, conn_id)
        assert conn.status == "ok" and conn.last_uid == 2  # resumed from the cursor: only the new one came
    assert _count(app, s.shop) == 2


def test_connect_form_errors_keep_what_was_typed(app, email_shop):
    s = email_shop()
    form = s.console.get("/plugins/email/connections")
    resp = s.console.post("/plugins/email/connections", data={
        "csrf_token": csrf_token(form), "address": "not-an-address", "imap_host": "imap.harbor.test",
        "imap_port": "99999", "password": ""})
    assert resp.status_code == 422
    assert b"Enter the mailbox&#39;s email address." in resp.data or b"Enter the mailbox's email address." in resp.data
    assert b"A port from 1 to 65535." in resp.data and b'value="imap.harbor.test"' in resp.data
    assert b'value="not-an-address"' in resp.data
