"""Plugin link placeholders (hook ``link_fields``): a plugin names ``{placeholders}`` when it enqueues;
the core asks the plugins active for the shop to fill them only in the provider request, so the
stored row, the claim's thread and the outbox API show them masked; a name nobody fills fails the
row instead of sending the placeholder."""
from __future__ import annotations

import sys
import types

import pytest
from sqlalchemy import select, text

from bayline.errors import Refused
from bayline.messaging import service as outbox
from bayline.messaging.models import OutboxItem
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature
from bayline.testing.plugin import in_tenant

MOBILE = "+16175550143"
CALLS: list[tuple[int, list[str]]] = []


def _linker() -> types.ModuleType:
    module = types.ModuleType("bayline_linker")

    @hookimpl
    def register_features():
        return [Feature("linker", "Link filler")]

    @hookimpl
    def link_fields(outbox_item, claim, names):
        CALLS.append((outbox_item.id, list(names)))
        return {n: f"https://links.example/{n}/{claim.id}" for n in names if n.startswith("linker_")}

    module.register_features, module.link_fields = register_features, link_fields
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("linker", _linker())]


def test_plugin_links_reach_only_the_provider(app, make_shop, make_claim, sms_outbox, api_client, enable_plugin):
    shop = make_shop()
    enable_plugin(shop, "linker")
    claim = make_claim(shop, customer_mobile=MOBILE)
    CALLS.clear()
    with in_tenant(app, shop.id) as session:
        item, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE,
                                 body="Tap 1 {linker_1} or 5 {linker_5}", idempotency_key="lf-1",
                                 claim=session.merge(claim), kind="requested", link_fields=["linker_1", "linker_5"])
        item_id = item.id
    assert [t.body for t in sms_outbox] == [f"Tap 1 https://links.example/linker_1/{claim.id} or 5 "
                                            f"https://links.example/linker_5/{claim.id}"]
    assert CALLS == [(item_id, ["linker_1", "linker_5"])]  # one call per send with every name
    with in_tenant(app, shop.id) as session:
        raw = session.execute(text("SELECT body FROM outbox_items WHERE id = :i"), {"i": item_id}).one()
        assert "links.example" not in raw.body and "{linker_1}" in raw.body
    listed = api_client(shop).get(f"/api/v1/claims/{claim.id}/outbox").get_data(as_text=True)
    assert "links.example" not in listed and "{linker_1}" not in listed and "link sent" in listed
    thread = api_client(shop).get(f"/api/v1/claims/{claim.id}/messages").get_data(as_text=True)
    assert "{linker_1}" not in thread and "links.example" not in thread


def test_an_unfilled_link_fails_the_row_and_sends_nothing(app, make_shop, make_claim, sms_outbox):
    shop = make_shop()  # the linker plugin is not active for this shop: nobody fills the name
    claim = make_claim(shop, customer_mobile=MOBILE)
    with in_tenant(app, shop.id) as session:
        item, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE, body="Tap {linker_1}",
                                 idempotency_key="lf-2", claim=session.merge(claim), kind="requested",
                                 link_fields=["linker_1"])
        item_id = item.id
    assert len(sms_outbox) == 0
    with in_tenant(app, shop.id) as session:
        row = session.get(OutboxItem, item_id)
        assert row.state == "failed" and "can no longer be made" in row.reason


@pytest.mark.parametrize("names", [["linker_9"], ["portal_link"], ["not a name"]])
def test_a_link_field_without_its_placeholder_is_refused(app, make_shop, sms_outbox, names):
    shop = make_shop()
    with in_tenant(app, shop.id) as session:
        with pytest.raises(Refused) as refused:
            outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE,
                           body="Tap {linker_1} {portal_link}", idempotency_key="lf-3", kind="requested",
                           link_fields=names)
        assert refused.value.code == "invalid_link_fields"
        session.rollback()
        assert session.scalars(select(OutboxItem)).all() == []
    assert len(sms_outbox) == 0
