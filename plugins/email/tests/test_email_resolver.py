"""The claim resolver: every signal files the mail on the right claim and thread with its reason;
unmatched mail waits in the shop inbox; re-linking teaches the rule; nothing crosses shops."""
from __future__ import annotations

from bayline_email.resolver import vin_valid
from email_helpers import VIN, mail
from sqlalchemy import select

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def test_vin_check_digit():
    assert vin_valid(VIN)
    assert not vin_valid(VIN[:8] + "9" + VIN[9:])
    assert not vin_valid("1HGCM82633A00435")


def test_adjuster_mail_with_the_carrier_claim_number_lands_on_the_claim(email_shop, ingest):
    s = email_shop()
    got = ingest(s.shop, mail(frm="someone@insurer.test", subject=f"Supplement for claim BM-{s.tag}-77"))
    assert got.claim_id == s.claim.id and got.audience == "adjuster" and got.signal == "identifier"
    assert f"carrier claim number BM-{s.tag}-77" in got.reason
    assert got.core_message_id is None  # the adjuster thread is never on the customer conversation


def test_ro_number_vin_and_plate_are_signals(email_shop, ingest):
    s = email_shop()
    assert ingest(s.shop, mail(frm="a@x.test", subject=f"RO {s.claim.number} parts")).reason.startswith("RO number")
    assert ingest(s.shop, mail(frm="b@x.test", subject="Parts", body=f"VIN {VIN} door shell")).reason \
        .startswith("VIN")
    assert ingest(s.shop, mail(frm="c@x.test", subject="Tow", body="Plate: 7ABC123 arrived")).reason \
        .startswith("plate")
    bad_vin = VIN[:8] + "9" + VIN[9:]
    assert ingest(s.shop, mail(frm="d@x.test", subject="Parts", body=f"VIN {bad_vin}")).claim_id is None


def test_customer_mail_goes_on_the_conversation_with_quoted_history_stripped(app, email_shop, ingest):
    s = email_shop()
    body = ("Is my car ready on Friday?\n\nDana\n\nOn Wed, Dec 2, 2026 at 10:00 AM Harbor <shop@harbor.test> "
            "wrote:\n> Your car is in paint.\n> Harbor")
    got = ingest(s.shop, mail(frm=s.claim.customer_email, subject="My car", body=body))
    assert got.claim_id == s.claim.id and got.audience == "customer" and got.signal == "participants"
    assert got.body == "Is my car ready on Friday?\n\nDana" and "Your car is in paint" in (got.quoted or "")
    from bayline.plugin_api import Message

    with in_tenant(app, s.shop.id) as session:
        message = session.get(Message, got.core_message_id)
        assert message.channel == "email" and message.direction == "in"
        assert message.body == "Is my car ready on Friday?\n\nDana"


def test_reply_token_wins_and_another_shops_or_a_forged_token_is_ignored(app, email_shop, ingest):
    a, b = email_shop("Harbor A"), email_shop("Harbor B")
    from bayline_email.tokens import reply_address

    with app.test_request_context():
        mine = reply_address(a.shop.id, a.claim.id, "adjuster")
        theirs = reply_address(b.shop.id, b.claim.id, "customer")
    got = ingest(a.shop, mail(frm="new-person@insurer.test", to=mine, subject="Totally new subject"))
    assert got.claim_id == a.claim.id and got.audience == "adjuster" and got.signal == "reply_token"
    crossed = ingest(a.shop, mail(frm="x@insurer.test", to=theirs, subject="hello"))
    assert crossed.claim_id is None and "a reply address of another shop was ignored" in crossed.notes
    forged = mine[:-len("@in.bayline.test") - 4] + "0000@in.bayline.test"
    bad = ingest(a.shop, mail(frm="x@insurer.test", to=forged, subject="hello again"))
    assert bad.claim_id is None and "a reply address with a bad signature was ignored" in bad.notes


def test_in_reply_to_of_stored_mail_follows_its_claim(email_shop, ingest):
    s = email_shop()
    first = mail(frm="z@insurer.test", subject=f"BM-{s.tag}-77 estimate", message_id="<first.1@insurer.test>")
    assert ingest(s.shop, first).claim_id == s.claim.id
    reply = ingest(s.shop, mail(frm="other@insurer.test", subject="Re: unrelated words",
                                in_reply_to="<first.1@insurer.test>", references="<first.1@insurer.test>"))
    assert reply.claim_id == s.claim.id and reply.signal == "headers" and reply.audience == "adjuster"


def test_unmatched_mail_waits_in_the_inbox_and_relinking_teaches_the_rule(app, email_shop, ingest):
    s = email_shop()
    raw = mail(frm="rental@cars.test", subject="Rental extension", message_id="<rent.1@cars.test>")
    got = ingest(s.shop, raw)
    assert got.claim_id is None and got.reason == "no claim matched: in the shop inbox"
    page = s.console.get("/plugins/email/")
    assert page.status_code == 200 and b"Rental extension" in page.data
    url = f"/plugins/email/messages/{got.id}"
    wrong = s.console.post(f"{url}/link", data={"csrf_token": csrf_token(s.console, url), "claim_number": "RO-NOPE",
                                                 "audience": "adjuster"})
    assert wrong.status_code == 422 and b"No claim numbered" in wrong.data and b'value="RO-NOPE"' in wrong.data
    done = s.console.post(f"{url}/link", data={"csrf_token": csrf_token(s.console, url),
                                                "claim_number": s.claim.number, "audience": "adjuster"})
    assert done.status_code == 302
    detail = s.console.get(url)
    assert b"filed on this claim by staff" in detail.data
    later = ingest(s.shop, mail(frm="rental@cars.test", subject="Re: Rental extension",
                                message_id="<rent.2@cars.test>"))
    assert later.claim_id == s.claim.id and later.signal == "link"
    assert "staff filed this sender and subject" in later.reason
    assert ingest(s.shop, mail(frm="someone.else@cars.test", subject="x", references="<rent.1@cars.test>")) \
        .signal in ("headers", "link")


def test_the_same_message_is_stored_once(email_shop, ingest):
    s = email_shop()
    raw = mail(frm=s.claim.customer_email, subject="Once", message_id="<once@customer.test>")
    first, second = ingest(s.shop, raw), ingest(s.shop, raw, provider_id="imap:9:1:1")
    assert first.created and not second.created and first.id == second.id


def test_html_is_sanitised_and_shown_in_a_sandbox(app, email_shop, ingest):
    s = email_shop()
    html = ('<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script>'
            '<img src="https://tracker.test/pixel.gif?u=1" width="1"><a href="javascript:alert(2)">x</a>'
            '<a href="https://ok.test/">ok</a><iframe src="https://evil.test"></iframe>')
    got = ingest(s.shop, mail(frm=s.claim.customer_email, subject="Rich", body="Hello there", html=html))
    assert "<script" not in got.html and "onclick" not in got.html and "tracker.test" not in got.html
    assert "javascript:" not in got.html and "<iframe" not in got.html and "<b>there</b>" in got.html
    assert "active content and remote images removed" in got.notes
    page = s.console.get(f"/plugins/email/messages/{got.id}")
    assert b'sandbox=""' in page.data
    frame = s.console.get(f"/plugins/email/messages/{got.id}/html")
    assert frame.status_code == 200 and "default-src 'none'" in frame.headers["Content-Security-Policy"]
    assert b"<b>there</b>" in frame.data and b"<script" not in frame.data


def test_malformed_mime_is_stored_with_a_note(email_shop, ingest):
    s = email_shop()
    raw = (b"From: " + s.claim.customer_email.encode() + b"\r\nSubject: broken\r\nMessage-ID: <broken@c.test>\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@\r\n--XX")
    got = ingest(s.shop, raw)
    assert got.created and got.claim_id == s.claim.id
    assert any(n.startswith("malformed message") for n in got.notes)
    garbage = ingest(s.shop, b"\x00\xff\xfe not an email at all \r\n\r\n\x00")
    assert garbage.created and garbage.claim_id is None


def test_forged_from_of_another_shops_customer_never_reaches_that_shop(app, email_shop, ingest):
    a, b = email_shop("Harbor A"), email_shop("Harbor B")
    got = ingest(a.shop, mail(frm=b.claim.customer_email, subject=f"About {b.claim.number} and BM-{b.tag}-77"))
    assert got.claim_id is None  # shop A looks only at its own claims
    from bayline_email.models import EmailMessage

    with in_tenant(app, b.shop.id) as session:
        assert session.scalars(select(EmailMessage)).all() == []
