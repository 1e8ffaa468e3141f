"""Outbound texts end to end: our route → Celery task → official SDK → HTTP → the Telnyx stand-in."""
from __future__ import annotations

from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import select

from bayline.messages.models import Message
from bayline.messaging.models import OutboxItem
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def test_conforms(app) -> None:
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "sms") == []


def test_send_reaches_telnyx_and_delivery_webhooks_update_the_claim(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages",
                             json={"body": "Your car is ready.", "idempotency_key": "k1"})
    assert resp.status_code == 202, resp.get_json()
    out = resp.get_json()
    assert len(telnyx_api.messages) == 1
    sent = telnyx_api.message_posts()[0]
    assert sent["json"]["from"] == SHOP_NUMBER and sent["json"]["to"] == CUSTOMER
    assert sent["json"]["text"] == "Your car is ready." and sent["json"]["messaging_profile_id"] == "mp-1"
    # the outbox key, made unique across shops (keys are unique per shop)
    assert sent["headers"]["Idempotency-Key"] == f"{sms_shop.shop.id}:claim:{claim.id}:k1"
    telnyx_id = telnyx_api.messages[0]["id"]
    with in_tenant(app, sms_shop.shop.id) as session:
        message = session.get(Message, out["message_id"])
        assert (message.channel, message.direction, message.external_id) == ("sms", "out", telnyx_id)
        assert message.delivery_state == "queued"
    for status in ("sent", "delivered"):
        body = telnyx_api.delivery(telnyx_id, status)
        assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 200
        with in_tenant(app, sms_shop.shop.id) as session:
            assert session.get(Message, out["message_id"]).delivery_state == status
    page = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()
    assert page["outbound"][0]["status"] == "delivered"


def test_failed_delivery_shows_carrier_reason(app, sms_shop, make_claim, make_user, client_for, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hello", "idempotency_key": "f"})
    telnyx_id = telnyx_api.messages[0]["id"]
    body = telnyx_api.delivery(telnyx_id, "delivery_failed",
                               errors=[{"code": "40002", "title": "Blocked as spam", "detail": "Carrier filter"}])
    assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 200
    # a late "sent" must not undo the final state
    late = telnyx_api.delivery(telnyx_id, "sent")
    post_webhook(app, late, telnyx_api.sign(late))
    row = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"][0]
    assert row["status"] == "failed" and "Blocked as spam" in row["error"]
    page = client_for(sms_shop.owner).get(f"/console/claims/{claim.id}")
    assert page.status_code == 200 and b"Blocked as spam" in page.data


def test_double_submit_sends_once(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    first = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "idempotency_key": "x"})
    again = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "idempotency_key": "x"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(telnyx_api.message_posts()) == 1
    with in_tenant(app, sms_shop.shop.id) as session:
        assert len(session.scalars(select(Message).where(Message.claim_id == claim.id)).all()) == 1


def test_task_rerun_after_crash_sends_once(app, sms_shop, make_claim, telnyx_api) -> None:
    """The worker crashed after Telnyx accepted the text but before our commit: the retried task
    calls the API again with the same Idempotency-Key and Telnyx (the stand-in) sends nothing new."""
    from bayline.messaging.tasks import send as send_outbound

    claim = make_claim(sms_shop.shop)
    out = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages",
                            json={"body": "Hi", "idempotency_key": "crash"}).get_json()
    first_id = telnyx_api.messages[0]["id"]
    with in_tenant(app, sms_shop.shop.id) as session:  # what the DB holds if the commit never happened
        row = session.get(OutboxItem, out["id"])
        row.provider_id, row.state = None, "queued"
        session.commit()
        send_outbound.apply(args=[out["id"]], headers={"bayline_tenant_id": sms_shop.shop.id})
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.get(OutboxItem, out["id"]).provider_id == first_id
    assert len(telnyx_api.message_posts()) == 2 and len(telnyx_api.messages) == 1
    with in_tenant(app, sms_shop.shop.id):  # and a third run is a no-op that never calls the API
        send_outbound.apply(args=[out["id"]], headers={"bayline_tenant_id": sms_shop.shop.id})
    assert len(telnyx_api.message_posts()) == 2


def test_staff_form_on_claim_page(app, sms_shop, make_claim, client_for, telnyx_api) -> None:
    import re

    claim = make_claim(sms_shop.shop)
    staff = client_for(sms_shop.owner)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Text messages" in page and 'name="idempotency_key"' in page
    token = csrf_token(page)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "idempotency_key": key, "body": "From the desk"}
    assert staff.post(f"/plugins/sms/claims/{claim.id}/messages", data=form).status_code == 302
    assert staff.post(f"/plugins/sms/claims/{claim.id}/messages", data=form).status_code == 302  # double click
    assert [m["text"] for m in telnyx_api.messages] == ["From the desk"]
    no_csrf = staff.post(f"/plugins/sms/claims/{claim.id}/messages", data={"body": "x", "idempotency_key": "n"})
    assert no_csrf.status_code == 400


def test_carrier_opt_out_40300_and_rate_limit(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    telnyx_api.blocked.add("+16175550100")
    row = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages",
                            json={"body": "Hi", "idempotency_key": "b"}).get_json()
    row = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"][0]
    assert row["status"] == "failed" and "opted out" in row["error"]
    # the ledger learned it: the next send is refused before the API
    before = len(telnyx_api.requests)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "idempotency_key": "c"})
    assert resp.status_code == 409 and resp.get_json()["code"] == "sms_opted_out"
    assert len(telnyx_api.requests) == before


def test_number_search_and_order(app, sms_shop, telnyx_api) -> None:
    found = sms_shop.api.get("/plugins/sms/numbers/available?area_code=617")
    assert found.status_code == 200, found.get_json()
    numbers = found.get_json()["numbers"]
    assert numbers and all(n.startswith("+1617") for n in numbers)
    search = next(r for r in telnyx_api.requests if r["path"] == "/v2/available_phone_numbers")
    assert search["args"]["filter[national_destination_code]"] == ["617"]
    ordered = sms_shop.api.post("/plugins/sms/numbers/order", json={"phone_number": numbers[0],
                                                                   "messaging_profile_id": "mp-2"})
    assert ordered.status_code == 201, ordered.get_json()
    assert telnyx_api.orders[0]["phone_numbers"][0]["phone_number"] == numbers[0]
    assert sms_shop.api.get("/plugins/sms/number").get_json()["number"]["phone_number"] == numbers[0]


def test_rate_limited_send_backs_off_and_is_retried(app, sms_shop, make_claim, telnyx_api) -> None:
    """429 from Telnyx: the task backs off (eager mode parks the row for the beat task) and the
    retry sends exactly one text."""
    from bayline.db import utcnow
    from bayline.messaging.models import OutboxItem
    from bayline.messaging.tasks import dispatch_due as release_held  # held texts: the core's beat

    claim = make_claim(sms_shop.shop)
    telnyx_api.rate_limit_next = 1
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "idempotency_key": "r"})
    assert resp.status_code == 202
    row = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"][0]
    assert row["status"] == "held" and "RateLimitError" in row["error"] and telnyx_api.messages == []
    with app.app_context():
        assert release_held.apply().get() == 0  # back-off not over yet
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(OutboxItem, row["id"]).due_at = utcnow()
        session.commit()
    with app.app_context():
        assert release_held.apply().get() == 1
    assert len(telnyx_api.message_posts()) == 2 and len(telnyx_api.messages) == 1
    row = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"][0]
    # "sending": Telnyx has it (its own "queued"); the webhooks move it on
    assert row["status"] == "sending" and row["telnyx_id"] == telnyx_api.messages[0]["id"] and row["error"] is None


def test_mms_with_media_urls(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    url = "https://cdn.example.test/photo-1.jpg"
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Before", "media_urls": [url]})
    assert resp.status_code == 202
    sent = telnyx_api.message_posts()[0]["json"]
    assert sent["media_urls"] == [url] and sent["type"] == "MMS"
    bad = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages",
                            json={"body": "x", "media_urls": ["file:///etc/passwd"]})
    assert bad.status_code == 422


def test_core_outbox_requests_go_out_through_the_plugin(app, sms_shop, telnyx_api) -> None:
    """A core request (e.g. the portal's "text me a new link") is an outbox row that the plugin's
    ``deliver`` hook sends; the same key again is the same row and no second text."""
    from bayline.messaging import service as outbox

    with in_tenant(app, sms_shop.shop.id):
        item, created = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER,
                                       body="Your new link is on its way", idempotency_key="link-1",
                                       kind="requested")
        again, created_again = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER,
                                              body="Your new link is on its way", idempotency_key="link-1",
                                              kind="requested")
        assert (created, created_again) == (True, False)
        assert item.state == "sending" and item.provider_id == telnyx_api.messages[0]["id"]
        assert again.id == item.id and len(telnyx_api.messages) == 1
