"""One-time secrets in texts (an e-sign code): ``secret_fields`` are sealed in the outbox row and
filled only in the provider request, so staff screens, the API and the database never hold them."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from bayline.errors import Refused
from bayline.messaging import service as outbox
from bayline.messaging.models import OutboxItem
from bayline.testing.plugin import in_tenant

MOBILE = "+16175550142"
CODE = "482913"


def test_the_code_reaches_the_provider_and_nothing_else(app, make_shop, make_claim, sms_outbox, api_client):
    shop = make_shop()
    claim = make_claim(shop, customer_mobile=MOBILE)
    with in_tenant(app, shop.id) as session:
        item, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE,
                                 body="Your signing code is {code}.", idempotency_key="otp-1",
                                 claim=session.merge(claim), kind="requested", thread=False,
                                 secret_fields={"code": CODE})
        item_id = item.id
    assert [t.body for t in sms_outbox] == [f"Your signing code is {CODE}."]
    with in_tenant(app, shop.id) as session:
        row = session.get(OutboxItem, item_id)
        assert row.state in ("sent", "sending", "delivered") and CODE not in row.body
        raw = session.execute(text("SELECT body, options FROM outbox_items WHERE id = :i"), {"i": item_id}).one()
        assert CODE not in str(raw.body) and CODE not in str(raw.options)
    listed = api_client(shop).get(f"/api/v1/claims/{claim.id}/outbox").get_data(as_text=True)
    assert CODE not in listed


def test_a_secret_without_its_placeholder_is_refused(app, make_shop, sms_outbox):
    shop = make_shop()
    with in_tenant(app, shop.id) as session:
        with pytest.raises(Refused) as refused:
            outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE, body="No placeholder",
                           idempotency_key="otp-2", kind="requested", secret_fields={"code": CODE})
        assert refused.value.code == "invalid_secret_fields"
        session.rollback()
        assert session.scalars(select(OutboxItem)).all() == []
    assert len(sms_outbox) == 0
