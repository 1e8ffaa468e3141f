"""SMTP both ways: our forwarding/reply endpoint (aiosmtpd) receives mail for the shop, and the
console's composer sends through the shop's own SMTP server (an aiosmtpd receiver requiring a login)
with the right threading headers, our Reply-To, idempotently through the outbox."""
from __future__ import annotations

import smtplib
import uuid
from datetime import UTC

import pytest
from bayline_email import service
from bayline_email.models import EmailMessage
from email_helpers import DOMAIN, mail
from sqlalchemy import select

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import wait_until


def _send(ctl, rcpts, raw, frm="sender@elsewhere.test"):
    with smtplib.SMTP(ctl.hostname, ctl.port, timeout=120) as client:
        return client.sendmail(frm, rcpts, raw)


def _rows(app, shop):
    with in_tenant(app, shop.id) as session:
        return [(r.id, r.claim_id, r.audience, r.direction, r.subject, r.match_signal, list(r.notes))
                for r in session.scalars(select(EmailMessage).order_by(EmailMessage.id))]


def _connect_smtp(app, shop, smtp_server):
    with in_tenant(app, shop.id):
        service.connect_imap(address=smtp_server.username, imap_host="127.0.0.1", imap_port=1,
                             username=smtp_server.username, password=smtp_server.password,
                             smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none",
                             display_name="Harbor Collision")


def test_the_forwarding_address_files_adjuster_mail_on_the_claim(app, email_shop, inbound_smtp):
    s = email_shop()
    _send(inbound_smtp, [f"{s.shop.slug}@{DOMAIN}"],
          mail(frm="desk@insurer.test", subject=f"Claim BM-{s.tag}-77 approved"))
    [(_, claim_id, audience, direction, _, signal, _)] = _rows(app, s.shop)
    assert (claim_id, audience, direction, signal) == (s.claim.id, "adjuster", "in", "identifier")


def test_unknown_recipients_are_refused_at_rcpt(app, email_shop, inbound_smtp, make_shop):
    s = email_shop()
    plain = make_shop(plan="starter", name="Email Switched Off")
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    with in_tenant(app) as session:  # the shop's admin switched the feature off
        provisioning.set_feature_enabled(session.get(Shop, plain.id), "email", False)
        commit(session)
    for rcpt in (f"nobody-{uuid.uuid4().hex[:6]}@{DOMAIN}", f"{s.shop.slug}@other.test",
                 f"reply+{s.shop.id}.{s.claim.id}.c.00000000000000000000@{DOMAIN}", f"{plain.slug}@{DOMAIN}"):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send(inbound_smtp, [rcpt], mail(frm="x@y.test", subject="hi"))
    assert _rows(app, s.shop) == []


def test_a_30_mb_attachment_is_refused_by_the_files_pipeline_and_the_mail_kept(app, email_shop, inbound_smtp):
    s = email_shop()
    big = b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024)
    _send(inbound_smtp, [f"{s.shop.slug}@{DOMAIN}"],
          mail(frm=s.claim.customer_email, subject="Photos and estimate", body="See attached",
               attachments=[("huge.pdf", "application/pdf", big), ("note.txt", "text/plain", b"hello")]))
    [(_, claim_id, audience, _, _, _, notes)] = _rows(app, s.shop)
    assert claim_id == s.claim.id and audience == "customer"
    assert any("huge.pdf" in n and "larger than" in n for n in notes), notes


def test_mail_over_the_smtp_size_limit_is_refused(app, email_shop):
    from bayline_email.inbound import controller
    from bayline_email.testing.dovecot import free_port

    s = email_shop()
    ctl = controller(app, "127.0.0.1", free_port(), data_size_limit=1024 * 1024)
    ctl.start()
    try:
        with pytest.raises(smtplib.SMTPException) as refused:
            _send(ctl, [f"{s.shop.slug}@{DOMAIN}"], mail(frm="x@y.test", subject="huge", body="x" * (2 * 1024 * 1024)))
    finally:
        ctl.stop()
    assert "552" in str(refused.value)
    assert _rows(app, s.shop) == []


def test_console_reply_goes_out_threaded_and_the_answer_lands_on_the_same_thread(
        app, email_shop, inbound_smtp, smtp_server, portal_client):
    s = email_shop()
    _connect_smtp(app, s.shop, smtp_server)
    # the customer wrote first (through the forwarding address)
    _send(inbound_smtp, [f"{s.shop.slug}@{DOMAIN}"],
          mail(frm=s.claim.customer_email, subject="Rental car?", message_id="<cust.1@customer.test>",
               body="Do I get a rental car?"))
    page = s.console.get(f"/console/claims/{s.claim.id}")
    assert page.status_code == 200 and b'value="email"' in page.data
    form = {"csrf_token": csrf_token(page), "channel": "email", "body": "Yes, from Enterprise on Main St.",
            "idempotency_key": uuid.uuid4().hex}
    url = _composer_url(page, s.claim.id)
    first = s.console.post(url, data=form)
    again = s.console.post(url, data=form)  # a double click sends once
    assert first.status_code in (200, 302) and again.status_code in (200, 302)
    wait_until(lambda: len(smtp_server.messages) >= 1, "the reply at the shop's SMTP server")
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0].message
    assert sent["To"] == s.claim.customer_email and "harbor.test" in sent["Message-ID"]
    assert sent["In-Reply-To"] == "<cust.1@customer.test>" and "<cust.1@customer.test>" in sent["References"]
    assert sent["Subject"] == "Re: Rental car?"
    reply_to = sent["Reply-To"]
    assert reply_to.startswith(f"reply+{s.shop.id}.{s.claim.id}.c.") and reply_to.endswith(f"@{DOMAIN}")
    assert "List-Unsubscribe" not in sent  # conversational, not marketing
    with in_tenant(app, s.shop.id) as session:
        out = session.scalars(select(EmailMessage).where(EmailMessage.direction == "out")).one()
        assert out.claim_id == s.claim.id and out.delivery_state == "sent" and out.outbox_item_id
        assert out.message_id == sent["Message-ID"]
    # the customer answers from a client that drops the threading headers and changes the subject
    _send(inbound_smtp, [reply_to], mail(frm="dana.personal@othermail.test", to=reply_to,
                                         subject="new subject entirely", body="Great, thanks!"))
    rows = _rows(app, s.shop)
    assert rows[-1][1:3] == (s.claim.id, "customer") and rows[-1][5] == "reply_token"
    portal = portal_client(s.claim).get("/c/s/")
    assert b"Great, thanks!" in portal.data and b"Do I get a rental car?" in portal.data


def _composer_url(page, claim_id):
    import re

    found = re.search(rb'action="([^"]*/claims/%d/(?:messages|conversation)[^"]*)"' % claim_id, page.data)
    assert found, "the claim page's composer form"
    return found.group(1).decode()


def test_adjuster_thread_is_separate_and_never_on_the_portal(app, email_shop, inbound_smtp, smtp_server,
                                                             portal_client):
    s = email_shop()
    _connect_smtp(app, s.shop, smtp_server)
    _send(inbound_smtp, [f"{s.shop.slug}@{DOMAIN}"],
          mail(frm=s.claim.adjuster_email, subject=f"BM-{s.tag}-77 supplement", body="Supplement approved $840."))
    page = s.console.get(f"/console/claims/{s.claim.id}")
    assert b"Supplement approved $840." in page.data and b"email-adjuster" in page.data
    key = uuid.uuid4().hex
    resp = s.console.post(f"/plugins/email/claims/{s.claim.id}/adjuster",
                          data={"csrf_token": csrf_token(page), "body": "Thanks, parts ordered.",
                                "idempotency_key": key})
    assert resp.status_code == 302
    wait_until(lambda: len(smtp_server.messages) >= 1, "the adjuster email at the shop's SMTP server")
    sent = smtp_server.messages[0].message
    assert sent["To"] == s.claim.adjuster_email and sent["Subject"] == f"Re: BM-{s.tag}-77 supplement"
    assert sent["Reply-To"].startswith(f"reply+{s.shop.id}.{s.claim.id}.a.")
    # the adjuster's answer through the reply address lands on the adjuster thread
    _send(inbound_smtp, [sent["Reply-To"]], mail(frm="assistant@insurer.test", subject="RE: [EXT] parts",
                                                  body="Noted."))
    assert _rows(app, s.shop)[-1][1:3] == (s.claim.id, "adjuster")
    portal = portal_client(s.claim).get("/c/s/")
    assert portal.status_code == 200
    for text in (b"approved $840", b"Thanks, parts ordered.", b"Noted."):
        assert text not in portal.data


def test_customer_email_reaches_the_open_portal_live(app, email_shop, inbound_smtp, portal_client):
    from bayline.testing.sse import read_until

    s = email_shop()
    stream = portal_client(s.claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    _send(inbound_smtp, [f"{s.shop.slug}@{DOMAIN}"], mail(frm=s.claim.customer_email, subject="Live?",
                                                          body="Is it painted yet?"))
    read_until(stream, "message.received")
    stream.close()


def test_sent_mail_is_copied_to_the_mailboxs_sent_folder(app, email_shop, smtp_server, dovecot):
    s = email_shop()
    user = f"sent-{uuid.uuid4().hex[:8]}@harbor.test"
    dovecot.add_user(user, "imap-pass-2")
    with in_tenant(app, s.shop.id):
        service.connect_imap(address=user, imap_host=dovecot.host, imap_port=dovecot.port, username=user,
                             password="imap-pass-2", imap_ssl=False, smtp_host="127.0.0.1",
                             smtp_port=smtp_server.port, smtp_security="none")
    smtp_server.username, smtp_server.password = user, "imap-pass-2"
    with in_tenant(app, s.shop.id) as session:
        from bayline.plugin_api import Claim, outbox

        item, _ = outbox.enqueue(channel="email", purpose="transactional", recipient=s.claim.customer_email,
                                 body="Your car is ready.", idempotency_key=f"ready:{uuid.uuid4().hex}",
                                 claim=session.get(Claim, s.claim.id), kind="automatic", subject="Ready for pickup")
        assert item.state == "sent", item.reason
    wait_until(lambda: len(smtp_server.messages) == 1, "the mail at the SMTP server")
    message_id = smtp_server.messages[0].message["Message-ID"]
    box = dovecot.client(user)
    try:
        box.select_folder("Sent", readonly=True)
        found = box.search(["HEADER", "Message-ID", message_id])
    finally:
        box.logout()
    assert len(found) == 1


def test_a_redelivered_send_never_mails_twice_and_marketing_carries_one_click_unsubscribe(
        app, email_shop, smtp_server):
    s = email_shop()
    _connect_smtp(app, s.shop, smtp_server)
    from datetime import datetime

    from bayline_email import channel

    from bayline.plugin_api import Claim, Shop, consent, outbox

    offset = 12 - datetime.now(UTC).hour  # a zone where it is midday: inside marketing hours
    zone = "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")
    with in_tenant(app, s.shop.id) as session:
        session.get(Shop, s.shop.id).timezone = zone
        consent.set_consent(s.claim.customer_email, "email", "marketing", "granted", "test",
                            wording="Offers by email", wording_version="v1")
        session.commit()
        item, _ = outbox.enqueue(channel="email", purpose="marketing", recipient=s.claim.customer_email,
                                 body="10% off detailing this month.", idempotency_key=f"promo:{uuid.uuid4().hex}",
                                 claim=session.get(Claim, s.claim.id), kind="automatic", subject="Detailing offer")
        assert item.state == "sent", item.reason
        wait_until(lambda: len(smtp_server.messages) == 1, "the offer at the SMTP server")
        # a worker killed after the SMTP handover runs the channel again with the same provider key
        again = channel.deliver(item, "10% off detailing this month.", f"{item.tenant_id}:{item.idempotency_key}")
        assert again["state"] == "sent"
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0].message
    assert sent["List-Unsubscribe"].startswith("<http://localhost/u/")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
