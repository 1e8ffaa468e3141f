"""Console pages of the messaging core: the outbox (filters, cancel, retry) and consent per contact."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bayline_sms.testing.helpers import CUSTOMER

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def test_console_outbox_filters_and_cancels_a_held_message(app, sms_shop, make_claim, client_for,
                                                           telnyx_api) -> None:
    from bayline.messaging import service as outbox

    claim = make_claim(sms_shop.shop)
    with in_tenant(app, sms_shop.shop.id):
        held, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER, body="See you Friday",
                                 idempotency_key="later", kind="automatic",
                                 due_at=datetime.now(UTC) + timedelta(days=2))
        held_id = held.id
    staff = client_for(sms_shop.owner)
    page = staff.get("/console/outbox?state=held").get_data(as_text=True)
    assert "See you Friday" in page and "waiting: scheduled for" in page
    assert "See you Friday" not in staff.get("/console/outbox?state=sent").get_data(as_text=True)
    assert staff.get("/console/outbox?state=bogus").status_code == 200  # an unknown filter is ignored
    token = csrf_token(page)
    done = staff.post(f"/console/outbox/{held_id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and "Message cancelled." in done.get_data(as_text=True)
    again = staff.post(f"/console/outbox/{held_id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "Only a draft, queued or held message can be cancelled" in again.get_data(as_text=True)
    assert telnyx_api.messages == []
    assert staff.post(f"/console/outbox/{held_id}/cancel").status_code == 400  # no CSRF token
    assert claim.id


def test_console_consent_shows_history_and_keeps_typed_values_on_error(app, sms_shop, client_for) -> None:
    staff = client_for(sms_shop.owner)
    page = staff.get(f"/console/consent?contact={CUSTOMER.replace('+', '%2B')}")
    assert page.status_code == 200 and "Nothing recorded." in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    bad = staff.post("/console/consent", data={"csrf_token": token, "contact": CUSTOMER, "channel": "sms",
                                               "purpose": "marketing", "status": "granted",
                                               "wording_version": "m-1", "detail": "typed note"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "needs the wording" in text and "typed note" in text and "m-1" in text
    ok = staff.post("/console/consent", data={"csrf_token": token, "contact": CUSTOMER, "channel": "sms",
                                              "purpose": "marketing", "status": "granted", "wording_version": "m-1",
                                              "wording": "Yes, text me offers."}, follow_redirects=True)
    text = ok.get_data(as_text=True)
    assert "Consent recorded." in text and "marketing granted (staff) · wording m-1" in text
