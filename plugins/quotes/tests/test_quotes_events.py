"""Staff and customer notifications are events (the messaging core sends them): ``quote.approved``,
``quote.declined``, ``quote.imported``, ``payment.recorded``, each with its declared payload."""
from __future__ import annotations

import sys
import types

import pytest

from bayline.plugin_api import Feature, hookimpl
from bayline.testing.forms import csrf_token

SEEN: list = []


def _spy() -> types.ModuleType:
    module = types.ModuleType("bayline_quotesspy")

    @hookimpl
    def register_features():
        return [Feature("quotesspy", "Quotes event spy")]

    @hookimpl
    def on_event(event):
        if event.type.startswith(("quote.", "payment.")):
            SEEN.append((event.type, event.payload))

    module.register_features, module.on_event = register_features, on_event
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("quotesspy", _spy())]


def test_decisions_and_payments_are_events(quotes_shop, q, portal_client, enable_plugin):
    enable_plugin(quotes_shop.shop, "quotesspy")
    SEEN.clear()
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml"))
    version = r.get_json()["version"]
    ding = next(ln["id"] for ln in version["lines"] if ln["payer"] == "customer")
    phone = portal_client(quotes_shop.claim)
    page = phone.get(f"/c/s/quotes/versions/{version['id']}")
    phone.post(f"/c/s/quotes/versions/{version['id']}/decide",
               data={"csrf_token": csrf_token(page), "action": "decline_all", "reason": "insurer"})
    quotes_shop.api.post(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/payments",
                         json={"payer": "deductible", "method": "cash", "amount": "500.00"})
    assert [t for t, _ in SEEN] == ["quote.imported", "quote.declined", "payment.recorded"], SEEN
    assert SEEN[1][1]["line_ids"] == [ding] and SEEN[1][1]["reason"] == "insurer"
    assert SEEN[2][1]["amount"] == "500.00" and SEEN[2][1]["balance"] == "0.00"  # 560 - 60 declined - 500
