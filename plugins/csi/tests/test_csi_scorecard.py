"""Scorecard against hand-computed values: two locations (shops), two insurers, an estimator, stage
histories, ETAs at drop-off, surveys and responses, supplements from the quotes plugin's events, and
a repair spanning the US spring DST change (2026-03-08, America/New_York). Then NPS, the stored
daily scorecard (beat task and on demand; today always live) and the group admin's side-by-side
view."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

NY = ZoneInfo("America/New_York")
Q = "start=2026-03-01&end=2026-03-31"
NONE_QUOTES = {"supplements": None, "supplements_per_claim": None}


def _local(y, m, d, h):
    return datetime(y, m, d, h, 0, tzinfo=NY).astimezone(UTC)


def _repair(app, shop, make_claim, *, insurer, opened, left_intake, delivered, eta, score=None, surveyed=True,
            scale=None, estimator=None):
    from bayline_csi.models import CsiResponse, CsiSurvey

    from bayline.claims.models import Claim, EtaHistory, Stage, StageHistory
    from bayline.events import commit

    claim = make_claim(shop, insurer=insurer)
    with in_tenant(app, shop.id) as session:
        c = session.get(Claim, claim.id)
        stages = session.scalars(select(Stage).order_by(Stage.position)).all()
        c.created_at, c.delivered_at = opened, delivered
        c.estimator_id = estimator.id if estimator else None
        session.add(StageHistory(tenant_id=shop.id, claim_id=c.id, from_stage_id=stages[0].id,
                                 to_stage_id=stages[1].id, at=left_intake))
        session.add(EtaHistory(tenant_id=shop.id, claim_id=c.id, old_eta=None, new_eta=eta, at=opened))
        session.add(EtaHistory(tenant_id=shop.id, claim_id=c.id, old_eta=eta, new_eta=eta + timedelta(days=5),
                               at=left_intake))  # a later ETA change does not move the promise
        if surveyed:
            s = CsiSurvey(tenant_id=shop.id, claim_id=c.id, due_at=delivered, closes_at=delivered + timedelta(days=14))
            session.add(s)
            session.flush()
            if score is not None:
                session.add(CsiResponse(tenant_id=shop.id, survey_id=s.id, claim_id=c.id, overall=score, scale=scale,
                                        editable_until=delivered))
        commit(session)
    return claim


def _supplements(api, claim, count):
    """Import the original and ``count`` supplements through the quotes plugin's own API: its
    ``quote.imported`` events are all the CSI plugin sees."""
    for version in range(count + 1):
        lines = [{"description": f"Bumper v{version}", "part_number": "P1", "unit_price": f"{100 + version}.00"}]
        r = api.post(f"/api/v1/plugins/quotes/claims/{claim.id}/imports",
                     json={"format": "json", "content": {"estimate_id": "E1", "version": version, "lines": lines}})
        assert r.status_code in (200, 201), r.get_json()


@pytest.fixture
def fixture(app, make_shop, make_claim, make_user, api_client):
    north = make_shop(plan="starter", name="Harbor North")
    south = make_shop(plan="starter", name="Harbor South", group_id=north.group_id)
    erin = make_user(north, role="estimator", email=f"erin-{north.id}@example.com")
    # North 1 (Acme, Erin): opened Fri 6 Mar 09:00 EST, out of intake 6 Mar 13:00, delivered Tue 10 Mar
    #   09:00 EDT. DST on 8 Mar: 4 local days, but 95 elapsed hours (not 96); production 91 h. ETA 10 Mar →
    #   on time. Score 1. Two supplements.
    n1 = _repair(app, north, make_claim, insurer="Acme Mutual", opened=_local(2026, 3, 6, 9),
                 left_intake=_local(2026, 3, 6, 13), delivered=_local(2026, 3, 10, 9), eta=date(2026, 3, 10), score=1,
                 estimator=erin)
    # North 2 (Acme, no estimator): opened 2 Mar 08:00, out 3 Mar 08:00, delivered 5 Mar 16:00 (all EST):
    #   80 h, 3 days, production 56 h. ETA 4 Mar → late. Surveyed, no answer. No supplement.
    _repair(app, north, make_claim, insurer="Acme Mutual", opened=_local(2026, 3, 2, 8),
            left_intake=_local(2026, 3, 3, 8), delivered=_local(2026, 3, 5, 16), eta=date(2026, 3, 4))
    # North 3 (Bay State, Erin): opened 9 Mar 10:00, out 9 Mar 12:00, delivered 12 Mar 10:00 (EDT): 72 h,
    #   3 days, production 70 h. ETA 12 Mar → on time. Score 5. One supplement.
    n3 = _repair(app, north, make_claim, insurer="Bay State", opened=_local(2026, 3, 9, 10),
                 left_intake=_local(2026, 3, 9, 12), delivered=_local(2026, 3, 12, 10), eta=date(2026, 3, 12), score=5,
                 estimator=erin)
    # outside the period (delivered 1 Apr): not counted
    _repair(app, north, make_claim, insurer="Bay State", opened=_local(2026, 3, 25, 10),
            left_intake=_local(2026, 3, 26, 12), delivered=_local(2026, 4, 1, 10), eta=date(2026, 3, 30), score=2)
    # South 1 (Bay State): opened 16 Mar 09:00, out 16 Mar 10:00, delivered 18 Mar 09:00: 48 h, 2 days,
    #   production 47 h. ETA 17 Mar → late. Score 4. Not the north location's.
    _repair(app, south, make_claim, insurer="Bay State", opened=_local(2026, 3, 16, 9),
            left_intake=_local(2026, 3, 16, 10), delivered=_local(2026, 3, 18, 9), eta=date(2026, 3, 17), score=4)
    api = api_client(north)
    _supplements(api, n1, 2)
    _supplements(api, n3, 1)
    _supplements(api, n3, 1)  # the same versions again: counted once
    return north, south, erin, api


NORTH = {"delivered": 3, "surveys": 3, "responses": 2, "response_rate": 0.6667, "average_csi": 3.0, "nps": None,
         "cycle_time_hours": round((95 + 80 + 72) / 3, 2), "cycle_time_days": round(10 / 3, 2),
         "production_hours": round((91 + 56 + 70) / 3, 2), "delivered_as_promised": 0.6667,
         "supplements": 3, "supplements_per_claim": 1.0}


def test_scorecard_matches_hand_computed_values(app, fixture, api_client, make_user, client_for):
    north, south, erin, api = fixture
    card = api.get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()
    assert card["location"] == "Harbor North"
    assert card["totals"] == NORTH
    acme, bay = card["insurers"]
    assert acme == {"name": "Acme Mutual", "delivered": 2, "surveys": 2, "responses": 1, "response_rate": 0.5,
                    "average_csi": 1.0, "nps": None, "cycle_time_hours": 87.5, "cycle_time_days": 3.5,
                    "production_hours": 73.5, "delivered_as_promised": 0.5, "supplements": 2,
                    "supplements_per_claim": 1.0}
    assert bay == {"name": "Bay State", "delivered": 1, "surveys": 1, "responses": 1, "response_rate": 1.0,
                   "average_csi": 5.0, "nps": None, "cycle_time_hours": 72.0, "cycle_time_days": 3.0,
                   "production_hours": 70.0, "delivered_as_promised": 1.0, "supplements": 1,
                   "supplements_per_claim": 1.0}
    none, by_erin = sorted(card["estimators"], key=lambda f: f["name"] != "(none)")
    assert by_erin == {"name": erin.name or erin.email, "delivered": 2, "surveys": 2, "responses": 2,
                       "response_rate": 1.0, "average_csi": 3.0, "nps": None, "cycle_time_hours": 83.5,
                       "cycle_time_days": 3.5, "production_hours": 80.5, "delivered_as_promised": 1.0,
                       "supplements": 3, "supplements_per_claim": 1.5}
    assert none["name"] == "(none)" and none["delivered"] == 1 and none["response_rate"] == 0.0
    assert none["average_csi"] is None and none["delivered_as_promised"] == 0.0 and none["supplements"] == 0

    staff = client_for(make_user(north, email=f"north-{north.id}@example.com"), north)
    page = staff.get(f"/plugins/csi/scorecard?{Q}").get_data(as_text=True)
    assert '<svg id="csi-trend"' in page and page.count("<rect ") == 5  # five weeks from 1 March
    assert "Insurer: Acme Mutual" in page and "82.33" in page and "Estimator: " in page
    assert "<th>Supplements</th>" in page
    csv_text = staff.get(f"/plugins/csi/scorecard.csv?{Q}").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0].startswith("group,name,delivered") and len(lines) == 1 + 1 + 2 + 2
    assert lines[2] == "insurer,Acme Mutual,2,2,1,0.5,1.0,,87.5,3.5,73.5,0.5,2,1.0"
    r = staff.get("/plugins/csi/scorecard?start=2026-03-31&end=2026-03-01")
    assert r.status_code == 422 and "Choose an end after the start" in r.get_data(as_text=True)
    south_card = api_client(south).get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()
    assert south_card["totals"]["delivered"] == 1 and south_card["totals"]["cycle_time_hours"] == 48.0
    assert south_card["totals"]["delivered_as_promised"] == 0.0 and south_card["totals"]["average_csi"] == 4.0
    assert south_card["totals"]["supplements"] == 0  # the north's quotes events are not the south's


def test_supplements_are_not_counted_without_the_quotes_plugin(app, make_shop, make_claim, make_user, client_for,
                                                               api_client):
    shop = make_shop(plan="starter")
    owner = client_for(make_user(shop), shop)  # the shop switches quotes off in its settings
    page = owner.get("/console/settings/")
    assert owner.post("/console/settings/features/quotes", data={"csrf_token": csrf_token(page), "enabled": "0"}
                      ).status_code == 302
    _repair(app, shop, make_claim, insurer="Acme", opened=_local(2026, 3, 2, 8), left_intake=_local(2026, 3, 2, 9),
            delivered=_local(2026, 3, 4, 8), eta=date(2026, 3, 4), score=5)
    totals = api_client(shop).get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()["totals"]
    assert {k: totals[k] for k in NONE_QUOTES} == NONE_QUOTES


def test_nps_is_promoters_minus_detractors(app, make_shop, make_claim, api_client):
    shop = make_shop(plan="starter")
    day = iter(range(2, 20))
    for score, scale in ((10, "nps"), (9, "nps"), (7, "nps"), (3, "nps"), (4, None)):
        d = next(day)
        _repair(app, shop, make_claim, insurer="Acme", opened=_local(2026, 3, d, 8),
                left_intake=_local(2026, 3, d, 9), delivered=_local(2026, 3, d + 1, 8), eta=date(2026, 3, d + 1),
                score=score, scale=scale)
    totals = api_client(shop).get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()["totals"]
    # 2 promoters (10, 9), 1 passive (7), 1 detractor (3) of 4 NPS answers: 50 % − 25 % = 25; the 1–5 answer
    # is the CSI average on its own
    assert totals["nps"] == 25.0 and totals["average_csi"] == 4.0 and totals["responses"] == 5


def test_the_stored_daily_scorecard_is_read_and_today_is_live(app, fixture, travel, client_for, make_user,
                                                               make_claim):
    from bayline_csi.models import CsiDaily, CsiResponse

    from bayline.events import commit

    north, _, _, api = fixture
    travel(datetime(2026, 4, 10, 16, 0, tzinfo=UTC))
    staff = client_for(make_user(north, email=f"boss-{north.id}@example.com"), north)
    page = staff.get(f"/plugins/csi/scorecard?{Q}")
    assert "0 of 31 days from the stored" in page.get_data(as_text=True)
    r = staff.post("/plugins/csi/scorecard/recompute", data={"csrf_token": csrf_token(page), "start": "2026-03-01",
                                                             "end": "2026-03-31"})
    assert r.status_code == 303
    with in_tenant(app, north.id) as session:
        stored = session.scalars(select(CsiDaily).where(CsiDaily.dimension == "location")).all()
        assert len(stored) == 31 and sum(s.delivered for s in stored) == 3
        # a later change to the claims does not move a stored day until it is recomputed
        session.query(CsiResponse).filter(CsiResponse.overall == 5).delete()
        commit(session)
    assert api.get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()["totals"] == NORTH
    assert "31 of 31 days from the stored" in staff.get(f"/plugins/csi/scorecard?{Q}").get_data(as_text=True)
    r = api.post("/api/v1/plugins/csi/scorecard/recompute", json={"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200 and r.get_json() == {"days": 31}
    assert api.get(f"/api/v1/plugins/csi/scorecard?{Q}").get_json()["totals"]["average_csi"] == 1.0

    # today is never stored and always computed live
    claim = make_claim(north, insurer="Acme Mutual")
    with in_tenant(app, north.id) as session:
        from bayline.claims.models import Claim

        c = session.get(Claim, claim.id)
        c.created_at, c.delivered_at = datetime(2026, 4, 9, 14, tzinfo=UTC), datetime(2026, 4, 10, 14, tzinfo=UTC)
        commit(session)
    r = api.post("/api/v1/plugins/csi/scorecard/recompute", json={"start": "2026-04-01", "end": "2026-04-10"})
    assert r.get_json() == {"days": 9}
    card = api.get("/api/v1/plugins/csi/scorecard?start=2026-04-01&end=2026-04-10").get_json()
    assert card["totals"]["delivered"] == 2  # 1 April (stored) and today (live)


def test_the_daily_task_stores_each_shop_once_a_day(app, fixture, travel):
    from bayline_csi.models import CsiDaily
    from bayline_csi.tasks import store_daily

    north, south, _, _ = fixture
    travel(datetime(2026, 3, 20, 16, 0, tzinfo=UTC))
    with app.app_context():
        assert store_daily() >= 2
        assert store_daily() == 0  # within the day: nothing again
    with in_tenant(app, north.id) as session:
        days = sorted(session.scalars(select(CsiDaily.day).where(CsiDaily.dimension == "location")))
        # 14-day window + 2 days' delay + 1 before yesterday (19 March), yesterday included
        assert days[0] == date(2026, 3, 2) and days[-1] == date(2026, 3, 19) and len(days) == 18
        assert sum(session.scalars(select(CsiDaily.delivered).where(CsiDaily.dimension == "location"))) == 3
    with in_tenant(app, south.id) as session:
        assert sum(session.scalars(select(CsiDaily.delivered).where(CsiDaily.dimension == "location"))) == 1
    travel(datetime(2026, 3, 21, 16, 0, tzinfo=UTC))
    with app.app_context():
        assert store_daily() >= 2


@pytest.mark.parametrize("form", [{"start": "2026-03-31", "end": "2026-03-01"}, {"start": "nope", "end": ""},
                                  {"start": "", "end": ""}, {"start": "2024-01-01", "end": "2026-03-01"}])
def test_recompute_bad_input_keeps_the_form_and_stores_nothing(app, fixture, client_for, make_user, form):
    from bayline_csi.models import CsiDaily

    north = fixture[0]
    staff = client_for(make_user(north, email=f"boss-{north.id}@example.com"), north)
    page = staff.get("/plugins/csi/scorecard")
    r = staff.post("/plugins/csi/scorecard/recompute", data={"csrf_token": csrf_token(page), **form})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'role="alert"' in html
    assert all(f'value="{v}"' in html for v in form.values() if v)
    with in_tenant(app, north.id) as session:
        assert session.scalars(select(CsiDaily)).all() == []


@pytest.mark.parametrize("body", [{"start": "2026-03-31", "end": "2026-03-01"}, {"start": "2026-03-01"}, {},
                                  {"start": "x", "end": "2026-03-01"}])
def test_recompute_api_bad_input(app, fixture, body):
    r = fixture[3].post("/api/v1/plugins/csi/scorecard/recompute", json=body)
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_group_admins_see_the_locations_side_by_side(app, fixture, make_user, make_shop, client_for, api_client):
    north, _, _, api = fixture
    make_shop(plan="starter", name="Elsewhere Auto")  # another group: never shown
    admin = make_user(north, group_admin=True, email=f"group-{north.id}@example.com")
    group = client_for(admin, north)
    r = group.get(f"/plugins/csi/scorecard/group?{Q}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Harbor North" in html and "Harbor South" in html and "Elsewhere" not in html
    assert html.index("Harbor North") < html.index("Harbor South")
    body = group.get(f"/api/v1/plugins/csi/group/scorecard?{Q}", headers={"Accept": "application/json"}).get_json()
    by_name = {c["location"]: c for c in body}
    assert set(by_name) == {"Harbor North", "Harbor South"}
    assert {k: by_name["Harbor North"][k] for k in NORTH} == NORTH
    assert by_name["Harbor South"]["delivered"] == 1 and by_name["Harbor South"]["cycle_time_hours"] == 48.0
    # a location's own staff and API keys see their location only
    owner = client_for(make_user(north, email=f"own-{north.id}@example.com"), north)
    r = owner.get(f"/plugins/csi/scorecard/group?{Q}")
    assert r.status_code == 403 and "Harbor South" not in r.get_data(as_text=True)
    r = api.get(f"/api/v1/plugins/csi/group/scorecard?{Q}")
    assert r.status_code == 403 and r.get_json()["code"] == "permission_denied"
    r = group.get("/api/v1/plugins/csi/group/scorecard?start=2026-03-31&end=2026-03-01")
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_scorecard_bad_period_is_a_validation_error(app, make_shop, api_client):
    api = api_client(make_shop(plan="starter"))
    assert api.get("/api/v1/plugins/csi/scorecard").status_code == 200  # default: the last four weeks
    for q in ("start=2026-03-31&end=2026-03-01", "start=nope&end=2026-03-01", "start=2024-01-01&end=2026-03-01"):
        r = api.get(f"/api/v1/plugins/csi/scorecard?{q}")
        assert r.status_code == 422 and r.get_json()["code"] == "validation_error", q
