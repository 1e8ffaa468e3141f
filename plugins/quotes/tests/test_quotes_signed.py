"""Signed approval (setting ``quotes.signed_approval``) through the core ``request_signature`` hook,
which the e-sign plugin implements: the customer's approval is a signing request first and counts
only once ``document.signed`` comes back (quotes hears it in ``on_event``); staff and the API see the
pending signature. Without an active e-sign plugin the setting is refused with a clear error."""
from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from bayline.plugin_api import Feature, hookimpl
from bayline.testing.forms import csrf_token

JSON = {"Accept": "application/json"}
SETTINGS = "/api/v1/shop/settings"


SEEN: list = []


def _spy() -> types.ModuleType:
    module = types.ModuleType("bayline_signspy")

    @hookimpl
    def register_features():
        return [Feature("signspy", "Signed approval event spy")]

    @hookimpl
    def on_event(event):
        if event.type.startswith("quote."):
            SEEN.append((event.type, event.payload))

    module.register_features, module.on_event = register_features, on_event
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("signspy", _spy())]


@pytest.fixture
def signed_shop(quotes_shop, q, enable_plugin) -> dict[str, Any]:
    """Both plugins active, signed approval on, the original and two supplements imported (supplement 2)."""
    enable_plugin(quotes_shop.shop, "esign")
    enable_plugin(quotes_shop.shop, "signspy")
    SEEN.clear()
    r = quotes_shop.api.patch(SETTINGS, json={"quotes.signed_approval": True})
    assert r.status_code == 200 and r.get_json()["quotes.signed_approval"] is True, r.get_json()
    return q.import_supplement2(quotes_shop)


def sign(client, doc_url):
    """The customer consents to e-business and signs (typed name) on the e-sign plugin's pages."""
    page = client.get(doc_url, headers={"Accept": "text/html"})
    assert page.status_code == 200
    doc = client.get(doc_url, headers=JSON).get_json()
    token = csrf_token(page)
    r = client.post(f"/c/s/esign/packages/{doc['id']}/consent", data={"csrf_token": token, "agree": "1"},
                    headers=JSON)
    assert r.status_code == 200, r.get_json()
    r = client.post(f"{doc_url}/sign", data={"csrf_token": token, "method": "typed", "typed_name": "Dana Reyes",
                                             "intent": "1", "time_zone": "America/New_York"}, headers=JSON)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def version(quotes_shop, vid):
    return quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{vid}").get_json()


def test_signed_approval_counts_once_signed(quotes_shop, signed_shop, portal_client, client_for, q):
    s2 = signed_shop
    phone = q.phone_for(portal_client, quotes_shop.claim)
    wheel, ding = q.line_id(s2, "Wheel lock"), q.line_id(s2, "Repair door ding")
    r = q.decide(phone, s2["id"], action="approve_selected", lines=[str(wheel)], reason="price")
    assert r.status_code == 303, r.get_data(as_text=True)

    v = version(quotes_shop, s2["id"])
    lines = {ln["id"]: ln["decision"] for ln in v["lines"]}
    assert lines[wheel] == "pending" and lines[ding] == "declined"  # the decline counts now, the approval not yet
    assert v["approval"] == "declined" or v["approval"] == "pending"
    sig = v["signature"]
    assert sig["status"] == "pending" and sig["line_ids"] == [wheel] and sig["signed_at"] is None
    assert sig["url"].startswith("/c/s/esign/documents/")
    assert "quote.approved" not in [t for t, _ in SEEN]

    panel = client_for(quotes_shop.owner).get(f"/console/claims/{quotes_shop.claim.id}").get_data(as_text=True)
    assert "Waiting for the customer&#39;s signature" in panel or "Waiting for the customer's signature" in panel
    page = phone.get(f"/c/s/quotes/versions/{s2['id']}").get_data(as_text=True)
    assert "Sign to finish your approval" in page and sig["url"] in page
    # the decision cannot be given twice while the signature is pending
    again = q.decide(phone, s2["id"], action="approve_all")
    assert again.status_code == 409 and "waiting for your signature" in again.get_data(as_text=True)

    # what the customer signs: the approved line and its amount, on the e-sign plugin's page
    doc_page = phone.get(sig["url"], headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Repair approval: Supplement 2" in doc_page and "Wheel lock set" in doc_page
    signed = sign(phone, sig["url"])
    assert signed["documents"][0]["status"] == "signed"

    v = version(quotes_shop, s2["id"])
    assert {ln["id"]: ln["decision"] for ln in v["lines"]}[wheel] == "approved"
    assert v["approval"] == "partly" and v["signature"]["status"] == "signed" and v["signature"]["signed_at"]
    approved = [p for t, p in SEEN if t == "quote.approved"]
    assert len(approved) == 1 and approved[0]["line_ids"] == [wheel] and approved[0]["approval"] == "partly"
    panel = client_for(quotes_shop.owner).get(f"/console/claims/{quotes_shop.claim.id}").get_data(as_text=True)
    assert "Approval signed" in panel
    # approval is read-only now: the line cannot be approved again
    r = q.decide(phone, s2["id"], action="approve_selected", lines=[str(wheel)])
    assert r.status_code == 409


def test_declined_signature_leaves_the_approval_ungiven(quotes_shop, signed_shop, portal_client, q):
    s2 = signed_shop
    phone = q.phone_for(portal_client, quotes_shop.claim)
    assert q.decide(phone, s2["id"], action="approve_all").status_code == 303
    sig = version(quotes_shop, s2["id"])["signature"]
    doc = phone.get(sig["url"], headers=JSON).get_json()
    page = phone.get(sig["url"], headers={"Accept": "text/html"})
    r = phone.post(f"/c/s/esign/packages/{doc['id']}/decline",
                   data={"csrf_token": csrf_token(page), "reason": "The price is wrong"}, headers=JSON)
    assert r.status_code == 200, r.get_json()
    v = version(quotes_shop, s2["id"])
    assert v["signature"]["status"] == "declined" and v["approval"] == "pending"
    assert all(ln["decision"] == "pending" for ln in v["lines"] if ln["payer"] == "customer")
    # the customer may decide again: a new signing request
    assert q.decide(phone, s2["id"], action="approve_all").status_code == 303
    assert version(quotes_shop, s2["id"])["signature"]["status"] == "pending"


def test_staff_reversal_cancels_a_pending_signature(quotes_shop, signed_shop, portal_client, q):
    s2 = signed_shop
    phone = q.phone_for(portal_client, quotes_shop.claim)
    assert q.decide(phone, s2["id"], action="approve_all").status_code == 303
    url = version(quotes_shop, s2["id"])["signature"]["url"]
    r = quotes_shop.api.post(f"/api/v1/plugins/quotes/versions/{s2['id']}/reverse",
                             json={"reason": "Customer asked for changes"})
    assert r.status_code == 200, r.get_json()
    assert version(quotes_shop, s2["id"])["signature"]["status"] == "cancelled"
    sign(phone, url)  # signing the cancelled request afterwards approves nothing
    v = version(quotes_shop, s2["id"])
    assert v["signature"]["status"] == "cancelled" and v["approval"] == "pending"


def esign_switch(app, shop, on):
    """The shop's admin switches e-signature off (or on again): its plan grants it."""
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "esign", on)
        commit(session)


def test_signed_approval_needs_esign(app, quotes_shop, q, portal_client):
    esign_switch(app, quotes_shop.shop, False)
    r = quotes_shop.api.patch(SETTINGS, json={"quotes.signed_approval": True})
    assert r.status_code == 422, r.get_json()
    assert "e-signature" in str(r.get_json()["errors"]), r.get_json()
    assert quotes_shop.api.get(SETTINGS).get_json()["quotes.signed_approval"] is False
    # turning it off never needs e-sign
    assert quotes_shop.api.patch(SETTINGS, json={"quotes.signed_approval": False}).status_code == 200
    # e-sign switched off after the setting was on: approving is refused clearly, nothing changes
    esign_switch(app, quotes_shop.shop, True)
    assert quotes_shop.api.patch(SETTINGS, json={"quotes.signed_approval": True}).status_code == 200
    esign_switch(app, quotes_shop.shop, False)
    v = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml")).get_json()["version"]
    phone = q.phone_for(portal_client, quotes_shop.claim)
    r = q.decide(phone, v["id"], action="approve_all")
    assert r.status_code == 409 and "e-signature" in r.get_data(as_text=True)
    after = version(quotes_shop, v["id"])
    assert after["approval"] == "pending" and after["signature"] is None
    assert all(ln["decision"] == "pending" for ln in after["lines"])
