"""Issue 16 item 5: holiday closures on the shop profile (dates with an optional label): edited on the
profile page and through ``PATCH /api/v1/shop`` (one service), listed on the customer page beside the
hours, and respected by the one "is the shop open / next open day" helper (the claim page flags an
ETA on a closed day)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

from bayline.claims.models import Claim
from bayline.events import commit
from bayline.tenants import hours
from bayline.tenants.models import Shop
from bayline.testing.plugin import in_tenant


def _shop(**kw):
    return SimpleNamespace(**{"hours": [], "closures": [], "timezone": "America/New_York", **kw})


def test_open_days_follow_weekly_hours_and_closures():
    shop = _shop(hours=[{"days": "Sun", "closed": True}, {"days": "Mon–Fri", "open": "08:00", "close": "17:00"}],
                 closures=[{"date": "2026-12-25", "label": "Christmas"}, {"date": "2026-12-26"}])
    assert hours.is_open_on(shop, date(2026, 12, 24))
    assert not hours.is_open_on(shop, date(2026, 12, 25))  # Friday, a holiday
    assert not hours.is_open_on(shop, date(2026, 12, 27))  # Sunday, closed every week
    # Christmas (Fri), the 26th (Sat, closed that one time), Sunday: Monday the 28th is next
    assert hours.next_open_day(shop, date(2026, 12, 24)) == date(2026, 12, 28)
    assert hours.closed_reason(shop, date(2026, 12, 25)) == "Christmas"
    assert hours.closed_reason(shop, date(2026, 12, 26)) == "holiday closure"
    assert hours.closed_reason(shop, date(2026, 12, 27)) == "closed on Sundays"
    assert hours.closed_reason(shop, date(2026, 12, 28)) is None
    assert hours.next_open_day(_shop(hours=[{"days": d, "closed": True} for d in hours.WEEKDAYS]),
                               date(2026, 1, 1)) is None
    upcoming = hours.upcoming_closures(shop, date(2026, 12, 1), days=30)
    assert upcoming == [{"date": date(2026, 12, 25), "label": "Christmas"}, {"date": date(2026, 12, 26), "label": ""}]
    assert hours.upcoming_closures(shop, date(2026, 12, 26)) == [{"date": date(2026, 12, 26), "label": ""}]
    # "today" is the shop's: 03:00 UTC on Dec 25 is still Dec 24 in New York
    assert hours.shop_today(shop, datetime(2026, 12, 25, 3, 0, tzinfo=UTC)) == date(2026, 12, 24)


@pytest.mark.parametrize("rows,where,message", [
    ([{"date": "2026-13-01"}], "closures.0", "YYYY-MM-DD"),
    ([{"label": "Inventory"}], "closures.0", "enter a date"),
    ([{"date": "2026-07-04"}, {"date": "2026-07-04", "label": "again"}], "closures.1", "listed twice"),
    ([{"date": "2026-07-04", "label": "x" * 81}], "closures.0", "at most 80"),
])
def test_bad_closures_name_their_row(rows, where, message):
    with pytest.raises(ValidationError) as caught:
        hours.check_closures(rows)
    assert message in " ".join(caught.value.messages[where])


def test_closures_are_sorted_and_labels_tidied():
    assert hours.check_closures([{"date": "2026-12-25", "label": "  Christmas   Day "}, {"date": "2026-07-04"}]) == [
        {"date": "2026-07-04"}, {"date": "2026-12-25", "label": "Christmas Day"}]


def _saved(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.get(Shop, shop.id).closures


def test_profile_page_edits_closures_inline_and_the_portal_shows_them(app, staff, make_claim, portal_client):
    shop, _, client, token = staff()
    page = client.get("/console/settings/profile").get_data(as_text=True)
    assert 'name="closure_date_0"' in page and 'name="closure_rows" value="3"' in page
    soon = hours.shop_today(shop) + timedelta(days=10)
    later = hours.shop_today(shop) + timedelta(days=200)  # beyond the portal's two months
    form = {"csrf_token": token, "name": shop.name, "timezone": shop.timezone, "closure_rows": "3",
            "closure_date_0": soon.isoformat(), "closure_label_0": "Staff training",
            "closure_date_1": "not-a-date", "closure_label_1": "Typed label"}
    r = client.post("/console/settings/profile", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="closure-1-error">enter the date', page)
    assert 'value="Typed label"' in page and 'value="Staff training"' in page  # typed values kept
    assert _saved(app, shop) == []
    form.update({"closure_date_1": later.isoformat(), "closure_label_1": ""})
    r = client.post("/console/settings/profile", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert _saved(app, shop) == [{"date": soon.isoformat(), "label": "Staff training"}, {"date": later.isoformat()}]

    claim = make_claim(shop)
    portal = portal_client(claim).get("/c/s/").get_data(as_text=True)
    assert "Closed on" in portal
    assert f"{soon.strftime('%a, %b %d').replace(' 0', ' ')} — Staff training" in portal
    assert later.strftime("%b %d").replace(" 0", " ") not in portal.split("Closed on", 1)[1].split("</ul>", 1)[0]

    # removing one keeps the other
    page = client.get("/console/settings/profile").get_data(as_text=True)
    assert f'value="{soon.isoformat()}"' in page and 'name="closure_rows" value="5"' in page
    r = client.post("/console/settings/profile", data={
        "csrf_token": token, "name": shop.name, "timezone": shop.timezone, "closure_rows": "2",
        "closure_date_0": soon.isoformat(), "closure_label_0": "Staff training", "closure_remove_0": "1",
        "closure_date_1": later.isoformat()})
    assert r.status_code == 302 and _saved(app, shop) == [{"date": later.isoformat()}]


def test_api_edits_closures_with_the_same_checks(app, make_shop, api_client):
    shop = make_shop()
    api = api_client(shop, scopes=("admin",))
    r = api.patch("/api/v1/shop", json={"closures": [{"date": "2026-11-26", "label": "Thanksgiving"},
                                                     {"date": "2026-11-26"}]})
    assert r.status_code == 422 and "closures.1" in r.get_json()["errors"]["json"]
    r = api.patch("/api/v1/shop", json={"closures": [{"date": "2026-12-25"}, {"date": "2026-11-26",
                                                                               "label": "Thanksgiving"}]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["closures"] == [{"date": "2026-11-26", "label": "Thanksgiving"}, {"date": "2026-12-25"}]


def test_claim_page_flags_an_eta_on_a_closed_day(app, staff, make_claim):
    shop, _, client, _token = staff()
    eta = hours.shop_today(shop) + timedelta(days=5)
    with in_tenant(app, shop.id) as session:
        session.get(Shop, shop.id).closures = [{"date": eta.isoformat(), "label": "Inventory day"}]
        commit(session)
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        session.get(Claim, claim.id).eta = eta
        commit(session)
    page = client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert 'id="eta-closed"' in page and "closed that day (Inventory day)" in page
    nxt = hours.next_open_day(SimpleNamespace(hours=[], closures=[{"date": eta.isoformat()}]), eta)
    assert f"next open day is {nxt.strftime('%a %b %d')}" in page
    with in_tenant(app, shop.id) as session:
        session.get(Claim, claim.id).eta = eta + timedelta(days=1)
        commit(session)
    assert 'id="eta-closed"' not in client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
