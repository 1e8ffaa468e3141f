"""Issue 16: the claim page's ONE conversation with texting set up (Telnyx stand-in). Texts the
customer sends and the shop's replies (by text or on the customer page) are one thread with their
channel and honest state; one composer sends on either channel through the core outbox."""
from __future__ import annotations

import re

from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import select

from bayline.messages.models import Message
from bayline.messaging.models import OutboxItem
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def _key(page: str) -> str:
    return re.search(r'id="composer".*?name="idempotency_key" value="([^"]+)"', page, re.S).group(1)


def _thread(page: str) -> list[tuple[str, str, str]]:
    """(channel, body, state) of each thread entry, in page order."""
    return [(ch, body, state) for ch, body, state in re.findall(
        r'<li class="msg [^"]*" data-channel="(\w+)".*?<p class="msg-body">([^<]*)</p>\s*'
        r'<p class="msg-state[^"]*">([^<]*)</p>', page, re.S)]


def test_one_thread_and_one_composer_for_text_and_customer_page(app, sms_shop, make_claim, client_for,
                                                                telnyx_api) -> None:
    claim = make_claim(sms_shop.shop, customer_mobile=CUSTOMER)
    staff = client_for(sms_shop.owner)
    payload = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "Is the bumper in?")
    assert post_webhook(app, payload, telnyx_api.sign(payload)).status_code == 200
    board = staff.get("/console/").get_data(as_text=True)  # the customer is waiting: marked on board and list
    assert re.search(rf'data-claim-id="{claim.id}".*?new message</span>', board, re.S)
    assert "new message</span>" in staff.get("/console/claims").get_data(as_text=True)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert page.count('id="reply-body"') == 1 and page.count("<textarea") == 1  # one composer on the page
    assert 'name="channel" value="sms" checked' in page  # the customer last wrote by text
    token = csrf_token(staff, f"/console/claims/{claim.id}")
    form = {"csrf_token": token, "idempotency_key": _key(page), "channel": "sms", "body": "Yes, fitted today."}
    r = staff.post(f"/console/claims/{claim.id}/messages", data=form)
    assert r.status_code == 302
    assert staff.post(f"/console/claims/{claim.id}/messages", data=form).status_code == 302  # double click
    assert [m["text"] for m in telnyx_api.messages] == ["Yes, fitted today."]
    assert "new message</span>" not in staff.get("/console/").get_data(as_text=True)  # answered
    with in_tenant(app, sms_shop.shop.id) as session:
        item = session.scalars(select(OutboxItem)).one()
        assert (item.purpose, item.channel, item.recipient) == ("conversational", "sms", CUSTOMER)
    # a customer-page reply: labelled as posted, plus a short notice with the link by text (not in the thread)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    form = {"csrf_token": token, "idempotency_key": _key(page), "channel": "portal", "body": "Photos are up."}
    r = staff.post(f"/console/claims/{claim.id}/messages", data=form)
    flashed = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "Posted to the customer page." in flashed and "Text notice with the link" in flashed
    notice = telnyx_api.messages[-1]["text"]
    assert "you have a new message" in notice and "/c/" in notice
    staff.post(f"/console/claims/{claim.id}/messages", data=form)  # double click: one post, one notice
    assert len(telnyx_api.messages) == 2
    thread = _thread(staff.get(f"/console/claims/{claim.id}").get_data(as_text=True))
    assert [(c, b) for c, b, _ in thread] == [("sms", "Is the bumper in?"), ("sms", "Yes, fitted today."),
                                              ("portal", "Photos are up.")]
    assert thread[0][2] == "received"
    assert thread[1][2] in ("sent (not yet confirmed delivered)", "queued", "sending")
    assert thread[2][2].startswith("posted to the customer page; text notice")
    # the carrier's delivery report reaches the thread's state
    telnyx_id = telnyx_api.messages[0]["id"]
    report = telnyx_api.delivery(telnyx_id, "delivered")
    assert post_webhook(app, report, telnyx_api.sign(report)).status_code == 200
    assert _thread(staff.get(f"/console/claims/{claim.id}").get_data(as_text=True))[1][2] == "delivered"
    with in_tenant(app, sms_shop.shop.id) as session:
        assert len(session.scalars(select(Message).where(Message.claim_id == claim.id)).all()) == 3


def test_a_refused_text_keeps_what_was_typed(app, sms_shop, make_claim, client_for, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop, customer_mobile=CUSTOMER)
    staff = client_for(sms_shop.owner)
    payload = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "STOP")
    assert post_webhook(app, payload, telnyx_api.sign(payload)).status_code == 200
    sent_before = len(telnyx_api.messages)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(staff, f"/console/claims/{claim.id}"), "idempotency_key": _key(page),
            "channel": "sms", "body": "Your car is ready"}
    r = staff.post(f"/console/claims/{claim.id}/messages", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "opted out" in page
    assert ">Your car is ready</textarea>" in page
    assert len(telnyx_api.messages) == sent_before
    # an empty message is refused on the page, not with an error page
    r = staff.post(f"/console/claims/{claim.id}/messages", data={**form, "body": "  ", "channel": "portal"})
    assert r.status_code == 422 and "Write a message first" in r.get_data(as_text=True)


def test_claim_page_without_a_number_points_to_the_texts_page(app, make_shop, make_user, make_claim,
                                                              client_for) -> None:
    shop = make_shop(plan="starter")
    claim = make_claim(shop, customer_mobile=CUSTOMER)
    page = client_for(make_user(shop)).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "PUT /plugins/sms" not in page and "POST /plugins/sms" not in page
    assert 'href="/plugins/sms/"' in page or "Texts</a> page" in page
    assert 'name="channel" value="sms"' not in page and "Texting is not set up" in page
