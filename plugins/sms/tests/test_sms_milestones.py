"""Milestone texts per shop and ``{portal_link}``: a fresh link is issued (rotating the old one)
only when the text asks for it and only when the text is actually queued."""
from __future__ import annotations

import re

from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.messaging.models import OutboxItem
from bayline.portal import tokens
from bayline.portal.models import PortalToken
from bayline.testing.plugin import in_tenant


def _settings(app, shop_id: int, **values) -> None:
    from bayline import settings_registry
    from bayline.events import commit

    with in_tenant(app, shop_id):
        settings_registry.set_values(shop_id, {f"sms.{k}": v for k, v in values.items()}, None)
        commit()


def _move(api, claim_id: int, name: str) -> None:
    stage = next(s for s in api.get("/api/v1/stages").get_json() if s["name"] == name)
    assert api.post(f"/api/v1/claims/{claim_id}/stage", json={"stage_id": stage["id"]}).status_code == 200


def _old_link(app, shop_id: int, claim_id: int) -> str:
    with in_tenant(app, shop_id) as session:
        link = tokens.issue(session.get(Claim, claim_id))
        session.commit()
        return link.raw


def _tokens(app, shop_id: int) -> list[tuple[int, str]]:
    with in_tenant(app, shop_id) as session:
        return [(t.id, t.state) for t in session.scalars(select(PortalToken).order_by(PortalToken.id))]


def _raw_from(text: str) -> str:
    return re.search(r"http://localhost/c/(\S+)", text).group(1)


def test_milestone_stage_sends_its_template(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)  # opened before texts are switched on: no intake text
    _settings(app, sms_shop.shop.id, stage_notifications=True,
              template_supplement_approved="Approved, {first_name}! ETA {eta}.")
    before = _tokens(app, sms_shop.shop.id)
    _move(sms_shop.api, claim.id, "Supp Appr")  # a milestone stage by default
    assert [m["text"] for m in telnyx_api.messages] == ["Approved, Dana! ETA to be confirmed."]
    assert _tokens(app, sms_shop.shop.id) == before  # no {portal_link}: no link issued or rotated


def test_portal_link_in_a_stage_text_uses_the_sms_link_and_leaves_others(app, sms_shop, make_claim,
                                                                          telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    _settings(app, sms_shop.shop.id, stage_notifications=True,
              template_ready_for_pickup="Ready, {first_name}: {portal_link}")
    old = _old_link(app, sms_shop.shop.id, claim.id)
    _move(sms_shop.api, claim.id, "Completed")  # ready_for_pickup by default
    [sent] = telnyx_api.messages
    raw = _raw_from(sent["text"])
    assert sent["text"] == f"Ready, Dana: http://localhost/c/{raw}"
    with in_tenant(app, sms_shop.shop.id):
        assert tokens.lookup(raw) is not None and tokens.lookup(old) is not None  # the staff copy stays
        assert tokens.lookup(raw)[0].purpose == "sms"
    with in_tenant(app, sms_shop.shop.id) as session:
        row = session.scalars(select(OutboxItem)).one()
        assert row.options["portal_token_id"] == tokens.lookup(raw)[0].id
        assert "/c/" not in row.body  # stored masked: the link exists only in the provider request
    # the customer's new link opens the portal
    assert app.test_client().get(f"/c/{raw}").status_code in (200, 302)


def test_manual_milestone_template_and_typed_placeholder(app, sms_shop, make_claim, client_for,
                                                         telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"template": "received"})
    assert resp.status_code == 202 and resp.get_json()["portal_link_issued"] is True
    assert telnyx_api.messages[0]["text"].startswith("Hi Dana, Harbor Collision has received your vehicle.")
    first = _raw_from(telnyx_api.messages[0]["text"])
    # a free text without the placeholder leaves the link alone
    sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "See you at 5 {first_name}"})
    assert telnyx_api.messages[1]["text"] == "See you at 5 {first_name}"
    with in_tenant(app, sms_shop.shop.id):
        assert tokens.lookup(first) is not None
    # typed {portal_link} in a manual text: the same SMS link again, still working
    sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Your link: {portal_link}"})
    second = _raw_from(telnyx_api.messages[2]["text"])
    with in_tenant(app, sms_shop.shop.id):
        assert second == first and tokens.lookup(first) is not None
    # the staff panel says which link a text carries
    page = client_for(sms_shop.owner).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "carries the customer's texting link" in page and "keep working" in page
    assert '<option value="paid">Paid (with portal link)</option>' in page


def test_refused_send_does_not_rotate_the_link(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline_sms.testing.helpers import CUSTOMER

    from bayline.messaging import consent

    claim = make_claim(sms_shop.shop)
    old = _old_link(app, sms_shop.shop.id, claim.id)
    with in_tenant(app, sms_shop.shop.id) as session:
        consent.opt_out(CUSTOMER, "sms", "keyword", "STOP")
        session.commit()
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"template": "paid"})
    assert resp.status_code == 409
    with in_tenant(app, sms_shop.shop.id):
        assert tokens.lookup(old) is not None
    assert telnyx_api.requests == [r for r in telnyx_api.requests if r["path"] != "/v2/messages"]


def test_bad_template_input(app, sms_shop, make_claim) -> None:
    claim = make_claim(sms_shop.shop)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"template": "birthday"})
    assert resp.status_code == 422
    bad = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.milestone_stages": "birthday: Estimate"})
    assert bad.status_code == 422
    bad = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.template_paid": "Thanks {0}"})
    assert bad.status_code == 422
    ok = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.milestone_stages": "paid: Delivered"})
    assert ok.status_code == 200


def test_intake_text_carries_a_working_portal_link(app, sms_shop, telnyx_api) -> None:
    """A claim opened with a mobile number gets the "received" text (its first stage, Pictures, is that
    milestone by default) with a fresh link that opens the portal; without a number nothing is sent."""
    _settings(app, sms_shop.shop.id, stage_notifications=True)
    created = sms_shop.api.post("/api/v1/claims", json={
        "number": "RO-INTAKE-1", "customer_first_name": "Rosa", "customer_last_name": "Diaz",
        "customer_mobile": "+16175550188", "vehicle_year": 2020, "vehicle_make": "Honda",
        "vehicle_model": "Civic"})
    assert created.status_code == 201, created.get_json()
    [sent] = telnyx_api.messages
    assert [to["phone_number"] for to in sent["to"]] == ["+16175550188"]
    assert sent["text"].startswith("Hi Rosa, Harbor Collision has received your 2020 Honda Civic.")
    raw = _raw_from(sent["text"])
    opened = app.test_client().get(f"/c/{raw}")
    assert opened.status_code in (200, 303), opened.status_code
    sms_shop.api.post("/api/v1/claims", json={"number": "RO-INTAKE-2", "customer_first_name": "No",
                                              "customer_last_name": "Phone"})
    assert len(telnyx_api.messages) == 1


def test_no_intake_text_when_notifications_are_off(app, sms_shop, telnyx_api) -> None:
    sms_shop.api.post("/api/v1/claims", json={"number": "RO-INTAKE-3", "customer_first_name": "Rosa",
                                              "customer_last_name": "Diaz", "customer_mobile": "+16175550188"})
    assert telnyx_api.messages == []
