"""Customer approval in the portal: only what the shop shows, approve all / per line / decline with
a reason, read-only once approved, staff reversal with a reason, withdrawn / superseded / expired
versions refused, history with who, when, IP and device, and the events staff are notified by."""
from __future__ import annotations

from typing import Any

import pytest

from bayline.testing.forms import csrf_token


@pytest.fixture
def s2(quotes_shop, q) -> dict[str, Any]:
    """Original, supplement 1 and supplement 2 of the BMS fixtures imported; supplement 2's JSON."""
    return q.import_supplement2(quotes_shop)


def test_portal_shows_only_the_customers_lines(quotes_shop, s2, portal_client, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    html = phone.get(f"/c/s/quotes/versions/{s2['id']}").get_data(as_text=True)
    assert "Repair door ding" in html and "Wheel lock set" in html
    assert "Front bumper cover" not in html  # insurer lines: not by default
    assert "Carrier will not cover" not in html  # the internal note never
    assert "Supplement 2: +$279.80 (insurer +$192.50, you +$87.30)" in html
    assert 'quotes-your-amount">$647.30<' in html
    home = phone.get("/c/s/").get_data(as_text=True)
    assert "Supplement 2: +$279.80" in home and "Review and approve" in home
    # the estimate's timeline: every version with its change
    timeline = home.split('class="quotes-timeline"')[1].split("</ol>")[0]
    assert "Original estimate: $1,030.00" in timeline
    assert "Supplement 1: +$258.00 (insurer +$258.00, you +$0.00)" in timeline
    assert "Supplement 2: +$279.80 (insurer +$192.50, you +$87.30)" in timeline


def test_approve_one_line_decline_the_other_with_a_reason(quotes_shop, s2, portal_client, api_client, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    wheel, ding = q.line_id(s2, "Wheel lock"), q.line_id(s2, "Repair door ding")
    r = q.decide(phone, s2["id"], action="approve_selected", lines=[str(wheel)], reason="price")
    assert r.status_code == 303, r.get_data(as_text=True)
    v = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["approval"] == "partly"
    decisions = {ln["id"]: ln["decision"] for ln in v["lines"]}
    assert decisions[wheel] == "approved" and decisions[ding] == "declined"
    assert decisions[q.line_id(s2, "Front bumper")] == "pending"  # the customer never decides insurer lines
    # what the customer owes leaves the declined 60.00 out
    assert v["owed"]["payers"]["customer"] == "587.30" and v["totals"]["payers"]["customer"] == "647.30"
    history = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}/decisions").get_json()
    assert [(h["action"], h["line_ids"], h["reason"]) for h in history] == [
        ("approve", [wheel], None), ("decline", [ding], "price")]
    assert history[0]["ip"] == "203.0.113.7" and "TestPhone" in history[0]["user_agent"]
    assert history[0]["actor"] == "customer" and history[0]["actor_name"] == "Dana Reyes"
    # the declined line can be approved later; the approved one cannot change
    r = q.decide(phone, s2["id"], action="approve_selected", lines=[str(ding)])
    assert r.status_code == 303
    v = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["approval"] == "approved"


def test_double_approval_is_refused_and_changes_nothing(quotes_shop, s2, portal_client, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    assert q.decide(phone, s2["id"], action="approve_all").status_code == 303
    r = q.decide(phone, s2["id"], action="approve_all")
    assert r.status_code == 409 and "already approved" in r.get_data(as_text=True)
    wheel = q.line_id(s2, "Wheel lock")
    r = phone.post(f"/c/s/quotes/versions/{s2['id']}/decide", headers={"Accept": "application/json"},
                   data={"csrf_token": csrf_token(phone.get(f"/c/s/quotes/versions/{s2['id']}")),
                         "action": "approve_selected", "lines": [str(wheel)]})
    assert r.status_code == 409 and r.get_json()["code"] == "quotes_already_approved"
    history = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}/decisions").get_json()
    assert len(history) == 1


def test_decline_needs_a_structured_reason_and_keeps_the_form(quotes_shop, s2, portal_client, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    r = q.decide(phone, s2["id"], action="decline_all")
    assert r.status_code == 422 and "Tell the shop why" in r.get_data(as_text=True)
    r = q.decide(phone, s2["id"], action="decline_all", reason="other", reason_text="  ")
    assert r.status_code == 422 and "Say in a few words" in r.get_data(as_text=True)
    r = q.decide(phone, s2["id"], action="decline_all", reason="bogus", reason_text="kept text")
    assert r.status_code == 422 and "kept text" in r.get_data(as_text=True)  # what was typed stays
    v = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["approval"] == "pending" and {ln["decision"] for ln in v["lines"]} == {"pending"}
    r = q.decide(phone, s2["id"], action="decline_all", reason="other", reason_text="Getting a second quote")
    assert r.status_code == 303
    v = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["approval"] == "declined"


def test_superseded_and_withdrawn_versions_cannot_be_approved(quotes_shop, s2, portal_client, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    versions = quotes_shop.api.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").get_json()
    s1 = versions[1]
    r = q.decide(phone, s1["id"], action="approve_all")
    assert r.status_code == 409 and "newer version" in r.get_data(as_text=True)
    r = quotes_shop.api.post(f"/api/v1/plugins/quotes/versions/{s2['id']}/withdraw", json={"reason": "re-write"})
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    r = phone.post(f"/c/s/quotes/versions/{s2['id']}/decide", headers={"Accept": "application/json"},
                   data={"csrf_token": csrf_token(phone.get("/c/s/")), "action": "approve_all"})
    assert r.status_code == 409 and r.get_json()["code"] == "quotes_version_withdrawn"
    page = phone.get(f"/c/s/quotes/versions/{s2['id']}").get_data(as_text=True)
    assert "The shop withdrew this estimate" in page and "Approve all" not in page
    assert {ln["decision"] for ln in quotes_shop.api.get(
        f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()["lines"]} == {"pending"}


def test_expired_version_cannot_be_approved(app, quotes_shop, s2, portal_client, q):
    from datetime import timedelta

    from bayline_quotes.models import QuoteVersion

    from bayline.plugin_api import commit, utcnow
    from bayline.testing.plugin import in_tenant

    with in_tenant(app, quotes_shop.shop.id) as session:
        session.get(QuoteVersion, s2["id"]).expires_at = utcnow() - timedelta(minutes=1)
        commit(session)
    r = q.decide(q.phone_for(portal_client, quotes_shop.claim), s2["id"], action="approve_all")
    assert r.status_code == 409 and "expired" in r.get_data(as_text=True)


def test_another_claims_quote_is_not_found(quotes_shop, s2, portal_client, make_claim, q):
    other = make_claim(quotes_shop.shop, number="RO-9999")
    phone = q.phone_for(portal_client, other)
    assert phone.get(f"/c/s/quotes/versions/{s2['id']}").status_code == 404
    assert phone.get(f"/c/s/quotes/versions/{s2['id']}/estimate.pdf").status_code == 404
    r = q.decide(q.phone_for(portal_client, quotes_shop.claim), s2["id"], action="approve_all")
    assert r.status_code == 303
    token = csrf_token(phone.get("/c/s/"))
    r = phone.post(f"/c/s/quotes/versions/{s2['id']}/decide", data={"csrf_token": token, "action": "decline_all",
                                                                      "reason": "price"})
    assert r.status_code == 404


def test_staff_reverse_with_a_reason(quotes_shop, s2, portal_client, client_for, make_user, q):
    phone = q.phone_for(portal_client, quotes_shop.claim)
    q.decide(phone, s2["id"], action="approve_all")
    r = quotes_shop.api.post(f"/api/v1/plugins/quotes/versions/{s2['id']}/reverse", json={"reason": ""})
    assert r.status_code == 422
    r = quotes_shop.api.post(f"/api/v1/plugins/quotes/versions/{s2['id']}/reverse",
                             json={"reason": "Customer called: wants to rethink the wheel locks"})
    assert r.status_code == 200 and r.get_json()["approval"] == "pending"
    history = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}/decisions").get_json()
    assert history[-1]["action"] == "reverse" and "rethink" in history[-1]["reason_text"]
    # an advisor may not reverse (owner and admin only); the staff console form does it for an owner
    q.decide(phone, s2["id"], action="approve_all")
    advisor = client_for(make_user(quotes_shop.shop, role="advisor", email="adv@example.com"))
    page = advisor.get(f"/console/claims/{quotes_shop.claim.id}")
    r = advisor.post(f"/plugins/quotes/versions/{s2['id']}/reverse", data={"csrf_token": csrf_token(page),
                                                                            "reason": "no"})
    assert r.status_code == 403
    owner = client_for(quotes_shop.owner)
    page = owner.get(f"/console/claims/{quotes_shop.claim.id}")
    assert "Reverse decision" in page.get_data(as_text=True)
    r = owner.post(f"/plugins/quotes/versions/{s2['id']}/reverse", data={"csrf_token": csrf_token(page),
                                                                          "reason": "Insurer asked"})
    assert r.status_code == 303
    v = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["approval"] == "pending"
