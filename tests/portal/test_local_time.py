"""The portal shows times in the shop's time zone, and the delivery state of texts sent to the customer."""
from __future__ import annotations

from datetime import UTC, datetime

from bayline.messages.models import Message
from bayline.testing.plugin import in_tenant


def test_message_times_are_shop_local_and_texts_show_delivery(app, make_shop, make_claim, portal_client):
    shop = make_shop(timezone="America/Los_Angeles")
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        session.add(Message(claim_id=claim.id, direction="out", channel="sms", body="Your car is ready",
                            delivery_state="delivered", created_at=datetime(2026, 7, 1, 2, 30, tzinfo=UTC)))
        session.add(Message(claim_id=claim.id, direction="in", channel="portal", body="Thanks!",
                            created_at=datetime(2026, 7, 1, 3, 0, tzinfo=UTC)))
        session.commit()
    page = portal_client(claim).get("/c/s/").get_data(as_text=True)
    assert "Jun 30 19:30" in page and "Jun 30 20:00" in page  # PDT is UTC-7
    assert "UTC" not in page
    assert "Delivered by text" in page
