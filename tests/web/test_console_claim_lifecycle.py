"""Issue 16: the claim form keeps what was typed and shows each error next to its field; claims are
edited, closed with a reason and reopened from the console; the board hides old delivered claims;
the claim list finds phones in any format, insurer claim numbers, make, model and partial VINs;
console times are in the shop's zone, labelled."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bayline import settings_registry
from bayline.claims.models import Claim
from bayline.db import utcnow
from bayline.events import commit
from bayline.testing.plugin import in_tenant

GOOD = {"number": "RO-7001", "customer_first_name": "Dana", "customer_last_name": "Reyes",
        "customer_mobile": "(617) 555-0142", "customer_email": "dana@example.com", "vehicle_year": "2021",
        "vehicle_make": "Subaru", "vehicle_model": "Outback", "vin": "JF2SKAUC9MH512345", "insurer": "Acme Mutual",
        "insurer_claim_number": "AC-99812", "text_consent": "verbal"}


def _count(app, shop) -> int:
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(func.count(Claim.id)))


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def _value(page: str, name: str) -> str:
    found = re.search(rf'<input id="f-{name}" name="{name}" value="([^"]*)"', page)
    assert found, f"no input {name}"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("field,bad,expect", [
    ("vin", "JF2SKAUC9MH51234", "17"),  # 16 characters
    ("customer_mobile", "555-CALL-NOW", ""),
    ("vehicle_year", "twenty", "Enter the year as a number"),
    ("customer_email", "dana-at-example", "Enter an email"),
    ("adjuster_email", "pat@", "Enter an email"),
    ("customer_last_name", "   ", "Required"),
])
def test_a_mistake_comes_back_inline_with_everything_typed(app, staff, field, bad, expect):
    shop, _, client, token = staff()
    form = {**GOOD, field: bad, "csrf_token": token, "marketing_consent": "sms"}
    r = client.post("/console/claims/new", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Something went wrong" not in page and "invalid literal" not in page
    error = _field_error(page, field)
    assert error and expect in error, (field, error)
    assert f'aria-describedby="{field}-error"' in page
    for name, value in GOOD.items():  # every other typed value is still in its box
        if name not in (field, "text_consent"):
            assert _value(page, name) == value, name
    assert 'value="sms" checked' in page  # the ticked marketing box stays ticked
    assert _count(app, shop) == 0


def test_duplicate_ro_number_is_inline_then_fixed_and_saved(app, staff, make_claim):
    shop, _, client, token = staff()
    make_claim(shop, number="RO-7001")
    r = client.post("/console/claims/new", data={**GOOD, "csrf_token": token})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "already used by another claim" in _field_error(page, "number")
    assert _value(page, "customer_mobile") == "(617) 555-0142" and _value(page, "vin") == GOOD["vin"]
    assert _count(app, shop) == 1
    r = client.post("/console/claims/new", data={**GOOD, "number": "RO-7002", "csrf_token": token})
    assert r.status_code == 201 and "Claim RO-7002 opened." in r.get_data(as_text=True)
    with in_tenant(app, shop.id) as session:
        claim = session.scalar(select(Claim).where(Claim.number == "RO-7002"))
        assert claim.customer_mobile == "+16175550142" and claim.vehicle_year == 2021


def test_edit_the_mobile_number_and_other_fields(app, staff, make_claim):
    shop, _, client, token = staff()
    claim = make_claim(shop, number="RO-7100", customer_mobile="+16175550100")
    make_claim(shop, number="RO-7101")
    page = client.get(f"/console/claims/{claim.id}/edit").get_data(as_text=True)
    assert _value(page, "number") == "RO-7100" and _value(page, "customer_mobile") == "+16175550100"
    form = {name: _value(page, name) for name in ("number", "customer_first_name", "customer_last_name")}
    # a bad phone and a taken number: inline, typed values kept, nothing saved
    bad = {**form, "csrf_token": token, "customer_mobile": "555-CALL-NOW", "vehicle_make": "Mazda"}
    r = client.post(f"/console/claims/{claim.id}/edit", data=bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and _field_error(page, "customer_mobile")
    assert _value(page, "customer_mobile") == "555-CALL-NOW" and _value(page, "vehicle_make") == "Mazda"
    r = client.post(f"/console/claims/{claim.id}/edit", data={**form, "number": "RO-7101", "csrf_token": token})
    assert r.status_code == 422 and "already used" in _field_error(r.get_data(as_text=True), "number")
    with in_tenant(app, shop.id) as session:
        kept = session.get(Claim, claim.id)
        assert (kept.customer_mobile, kept.vehicle_make, kept.number) == ("+16175550100", None, "RO-7100")
    good = {**form, "csrf_token": token, "customer_mobile": "617.555.0199", "insurer": "Harbor Insurance",
            "internal_notes": "Loaner car out", "claim_type": "customer_pay"}
    r = client.post(f"/console/claims/{claim.id}/edit", data=good)
    assert r.status_code == 302 and r.headers["Location"] == f"/console/claims/{claim.id}"
    with in_tenant(app, shop.id) as session:
        saved = session.get(Claim, claim.id)
        assert (saved.customer_mobile, saved.insurer, saved.internal_notes, saved.claim_type) == (
            "+16175550199", "Harbor Insurance", "Loaner car out", "customer_pay")
    # a technician may look but not edit
    _, _, tech, tech_token = staff("technician", shop)
    assert tech.get(f"/console/claims/{claim.id}/edit").status_code == 403
    assert tech.post(f"/console/claims/{claim.id}/close", data={"csrf_token": tech_token,
                                                                "reason": "x"}).status_code == 403


def test_close_with_a_reason_and_reopen(app, staff, make_claim):
    shop, _, client, token = staff()
    claim = make_claim(shop, number="RO-7200")
    r = client.post(f"/console/claims/{claim.id}/close", data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 302
    assert "Say why the claim is closed" in client.get(r.headers["Location"]).get_data(as_text=True)
    too_long = client.post(f"/console/claims/{claim.id}/close", data={"csrf_token": token, "reason": "x" * 201})
    assert "at most 200" in client.get(too_long.headers["Location"]).get_data(as_text=True)
    with in_tenant(app, shop.id) as session:
        assert session.get(Claim, claim.id).archived_at is None
    client.post(f"/console/claims/{claim.id}/close", data={"csrf_token": token, "reason": "Total loss"})
    page = client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Closed" in page and "Total loss" in page and "Reopen claim" in page
    assert f'data-claim-id="{claim.id}"' not in client.get("/console/").get_data(as_text=True)
    assert "RO-7200" not in client.get("/console/claims").get_data(as_text=True)
    assert "RO-7200" in client.get("/console/claims?archived=1").get_data(as_text=True)
    client.post(f"/console/claims/{claim.id}/reopen", data={"csrf_token": token})
    with in_tenant(app, shop.id) as session:
        reopened = session.get(Claim, claim.id)
        assert reopened.archived_at is None and reopened.archive_reason is None
    assert f'data-claim-id="{claim.id}"' in client.get("/console/").get_data(as_text=True)


def _delivered(app, shop, claim, days_ago: float) -> None:
    with in_tenant(app, shop.id) as session:
        row = session.get(Claim, claim.id)
        row.delivered_at = utcnow() - timedelta(days=days_ago)
        commit(session)


def test_board_shows_open_work_and_recent_deliveries_only(app, staff, make_claim):
    shop, _, client, _ = staff()
    open_claim = make_claim(shop, number="RO-7300", insurer="GEICO")
    recent = make_claim(shop, number="RO-7301", insurer="Acme")
    old = make_claim(shop, number="RO-7302")
    _delivered(app, shop, recent, 2)
    _delivered(app, shop, old, 30)
    page = client.get("/console/").get_data(as_text=True)
    assert f'data-claim-id="{open_claim.id}"' in page and f'data-claim-id="{recent.id}"' in page
    assert f'data-claim-id="{old.id}"' not in page
    assert "1 older delivered claim hidden" in page
    with in_tenant(app, shop.id):
        settings_registry.set_values(shop.id, {"claims.board_delivered_days": 0}, None)
        commit()
    page = client.get("/console/").get_data(as_text=True)
    assert f'data-claim-id="{recent.id}"' not in page and f'data-claim-id="{open_claim.id}"' in page
    # filters: one insurer, overdue ETA
    page = client.get("/console/?insurer=GEICO").get_data(as_text=True)
    assert f'data-claim-id="{open_claim.id}"' in page and "(filtered)" in page
    with in_tenant(app, shop.id) as session:
        session.get(Claim, open_claim.id).eta = (utcnow() - timedelta(days=3)).date()
        commit(session)
    page = client.get("/console/?overdue=1").get_data(as_text=True)
    assert f'data-claim-id="{open_claim.id}"' in page and "(past)" in page


SEARCH_TABLE = [
    ("6175550142", "RO-7400"), ("(617) 555-0142", "RO-7400"), ("+1 617-555-0142", "RO-7400"),
    ("617.555.0142", "RO-7400"), ("555-0142", "RO-7400"),
    ("AC-99812", "RO-7400"), ("ac-998", "RO-7400"), ("subaru", "RO-7400"), ("Outback", "RO-7400"),
    ("Subaru Outback", "RO-7400"), ("MH512345", "RO-7400"), ("jf2skauc", "RO-7400"),
    ("Civic", "RO-7401"), ("415 555 0199", "RO-7401"),
]


@pytest.mark.parametrize("query,number", SEARCH_TABLE)
def test_claim_search_table(app, staff, make_claim, query, number):
    shop, _, client, _ = staff()
    make_claim(shop, number="RO-7400", customer_mobile="+16175550142", insurer_claim_number="AC-99812",
               vehicle_make="Subaru", vehicle_model="Outback", vin="JF2SKAUC9MH512345")
    make_claim(shop, number="RO-7401", customer_mobile="+14155550199", vehicle_make="Honda", vehicle_model="Civic")
    rows = re.findall(r'data-claim-number="([^"]+)"', client.get("/console/claims", query_string={"q": query})
                      .get_data(as_text=True))
    assert rows == [number], (query, rows)


@pytest.mark.parametrize("zone,label,hour", [("America/Los_Angeles", "PST", "02:30"),
                                             ("Europe/Berlin", "CET", "11:30")])
def test_console_times_are_in_the_shops_zone_and_labelled(app, make_shop, make_user, client_for, make_claim,
                                                          zone, label, hour):
    shop = make_shop(timezone=zone)
    client = client_for(make_user(shop), shop)
    claim = make_claim(shop, number="RO-7500", customer_mobile="+16175550142")
    moment = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    with in_tenant(app, shop.id) as session:
        from bayline.claims.models import StageHistory
        from bayline.messages import service as messages
        from bayline.messaging.models import OutboxItem

        row = session.get(Claim, claim.id)
        row.stage_entered_at = moment
        for entry in session.scalars(select(StageHistory).where(StageHistory.claim_id == claim.id)):
            entry.at = moment
        messages.receive(row, "Is it ready?").created_at = moment
        session.add(OutboxItem(idempotency_key="tz", claim_id=claim.id, channel="email", purpose="transactional",
                               kind="manual", recipient="dana@example.com", body="x", options={}, state="held",
                               attempts=0, created_at=moment))
        commit(session)
    expected = f"Dec 02, {hour} {label}"
    for url in (f"/console/claims/{claim.id}", "/console/outbox", f"/console/outbox?claim_id={claim.id}"):
        page = client.get(url).get_data(as_text=True)
        assert expected in page, url
        assert "10:30 UTC" not in page and f"{moment.isoformat()}" in page  # the ISO instant is in <time datetime>


def test_shop_profile_page_edits_name_phone_zone_and_hours(app, staff, api_client):
    shop, _, client, token = staff()
    page = client.get("/console/settings/profile").get_data(as_text=True)
    assert _value(page, "name") == shop.name and 'id="open_Mon"' in page
    bad = {"csrf_token": token, "name": "Harbor Collision", "phone": "555-CALL-NOW", "city": "Boston",
           "timezone": "Mars/Olympus", "open_Mon": "17:00", "close_Mon": "08:00", "closed_Sun": "1"}
    r = client.post("/console/settings/profile", data=bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert _field_error(page, "phone") and "unknown time zone" in page
    assert "closing time must be after opening time" in page
    assert _value(page, "city") == "Boston" and 'name="open_Mon" value="17:00"' in page
    good = {**bad, "phone": "(617) 555-0142", "timezone": "America/Los_Angeles", "open_Mon": "07:30",
            "close_Mon": "17:30"}
    r = client.post("/console/settings/profile", data=good)
    assert r.status_code == 302
    with in_tenant(app, shop.id) as session:
        from bayline.tenants.models import Shop

        saved = session.get(Shop, shop.id)
        assert (saved.name, saved.phone, saved.city, saved.timezone) == (
            "Harbor Collision", "+16175550142", "Boston", "America/Los_Angeles")
        assert saved.hours == [{"days": "Mon", "open": "07:30", "close": "17:30"}, {"days": "Sun", "closed": True}]
    _, _, tech, _tok = staff("technician", shop)
    assert tech.get("/console/settings/profile").status_code == 403
    # PATCH /api/v1/shop runs the same checks (one implementation)
    r = api_client(shop, scopes=("admin",)).patch("/api/v1/shop", json={"hours": [{"days": "Tue", "open": "9"}]})
    assert r.status_code == 422 and "hours.Tue" in str(r.get_json())
