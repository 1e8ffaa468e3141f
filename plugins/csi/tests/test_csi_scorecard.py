"""Scorecard against hand-computed values: two locations (shops), two insurers, stage histories,
ETAs at drop-off, surveys and responses, and a repair spanning the US spring DST change
(2026-03-08, America/New_York)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bayline.testing.plugin import in_tenant

NY = ZoneInfo("America/New_York")


def _local(y, m, d, h):
    return datetime(y, m, d, h, 0, tzinfo=NY).astimezone(UTC)


def _repair(app, shop, make_claim, *, insurer, opened, left_intake, delivered, eta, score=None, surveyed=True):
    from bayline_csi.models import CsiResponse, CsiSurvey

    from bayline.claims.models import Claim, EtaHistory, Stage, StageHistory
    from bayline.events import commit

    claim = make_claim(shop, insurer=insurer)
    with in_tenant(app, shop.id) as session:
        c = session.get(Claim, claim.id)
        stages = session.scalars(select(Stage).order_by(Stage.position)).all()
        c.created_at, c.delivered_at = opened, delivered
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
                session.add(CsiResponse(tenant_id=shop.id, survey_id=s.id, claim_id=c.id, overall=score,
                                        editable_until=delivered))
        commit(session)


def test_scorecard_matches_hand_computed_values(app, make_shop, make_claim, api_client, make_user, client_for):
    north = make_shop(plan="starter", name="Harbor North")
    south = make_shop(plan="starter", name="Harbor South")
    # North 1 (Acme): opened Fri 6 Mar 09:00 EST, out of intake 6 Mar 13:00, delivered Tue 10 Mar 09:00 EDT.
    #   DST on 8 Mar: 4 local days, but 95 elapsed hours (not 96); production 91 h. ETA 10 Mar → on time. Score 1.
    _repair(app, north, make_claim, insurer="Acme Mutual", opened=_local(2026, 3, 6, 9),
            left_intake=_local(2026, 3, 6, 13), delivered=_local(2026, 3, 10, 9), eta=date(2026, 3, 10), score=1)
    # North 2 (Acme): opened 2 Mar 08:00, out 3 Mar 08:00, delivered 5 Mar 16:00 (all EST): 80 h, 3 days,
    #   production 56 h. ETA 4 Mar → late. Surveyed, no answer.
    _repair(app, north, make_claim, insurer="Acme Mutual", opened=_local(2026, 3, 2, 8),
            left_intake=_local(2026, 3, 3, 8), delivered=_local(2026, 3, 5, 16), eta=date(2026, 3, 4))
    # North 3 (Bay State): opened 9 Mar 10:00, out 9 Mar 12:00, delivered 12 Mar 10:00 (EDT): 72 h, 3 days,
    #   production 70 h. ETA 12 Mar → on time. Score 5.
    _repair(app, north, make_claim, insurer="Bay State", opened=_local(2026, 3, 9, 10),
            left_intake=_local(2026, 3, 9, 12), delivered=_local(2026, 3, 12, 10), eta=date(2026, 3, 12), score=5)
    # outside the period (delivered 1 Apr): not counted
    _repair(app, north, make_claim, insurer="Bay State", opened=_local(2026, 3, 25, 10),
            left_intake=_local(2026, 3, 26, 12), delivered=_local(2026, 4, 1, 10), eta=date(2026, 3, 30), score=2)
    # South 1 (Bay State): opened 16 Mar 09:00, out 16 Mar 10:00, delivered 18 Mar 09:00: 48 h, 2 days,
    #   production 47 h. ETA 17 Mar → late. Score 4. Not the north location's.
    _repair(app, south, make_claim, insurer="Bay State", opened=_local(2026, 3, 16, 9),
            left_intake=_local(2026, 3, 16, 10), delivered=_local(2026, 3, 18, 9), eta=date(2026, 3, 17), score=4)

    q = "/api/v1/plugins/csi/scorecard?start=2026-03-01&end=2026-03-31"
    card = api_client(north).get(q).get_json()
    assert card["location"] == "Harbor North"
    assert card["totals"] == {"delivered": 3, "surveys": 3, "responses": 2, "response_rate": 0.6667,
                              "average_csi": 3.0, "cycle_time_hours": round((95 + 80 + 72) / 3, 2),
                              "cycle_time_days": round(10 / 3, 2), "production_hours": round((91 + 56 + 70) / 3, 2),
                              "delivered_as_promised": 0.6667}
    acme, bay = card["insurers"]
    assert acme == {"name": "Acme Mutual", "delivered": 2, "surveys": 2, "responses": 1, "response_rate": 0.5,
                    "average_csi": 1.0, "cycle_time_hours": 87.5, "cycle_time_days": 3.5, "production_hours": 73.5,
                    "delivered_as_promised": 0.5}
    assert bay == {"name": "Bay State", "delivered": 1, "surveys": 1, "responses": 1, "response_rate": 1.0,
                   "average_csi": 5.0, "cycle_time_hours": 72.0, "cycle_time_days": 3.0, "production_hours": 70.0,
                   "delivered_as_promised": 1.0}
    staff = client_for(make_user(north, email=f"north-{north.id}@example.com"), north)
    page = staff.get("/plugins/csi/scorecard?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert '<svg id="csi-trend"' in page and page.count("<rect ") == 5  # five weeks from 1 March
    assert "Insurer: Acme Mutual" in page and "82.33" in page
    csv_text = staff.get("/plugins/csi/scorecard.csv?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0].startswith("group,name,delivered") and len(lines) == 1 + 1 + 2 + 1
    assert lines[2] == "insurer,Acme Mutual,2,2,1,0.5,1.0,87.5,3.5,73.5,0.5"
    r = staff.get("/plugins/csi/scorecard?start=2026-03-31&end=2026-03-01")
    assert r.status_code == 422 and "Choose an end after the start" in r.get_data(as_text=True)
    south_card = api_client(south).get(q).get_json()
    assert south_card["totals"]["delivered"] == 1 and south_card["totals"]["cycle_time_hours"] == 48.0
    assert south_card["totals"]["delivered_as_promised"] == 0.0 and south_card["totals"]["average_csi"] == 4.0


def test_scorecard_bad_period_is_a_validation_error(app, make_shop, api_client):
    api = api_client(make_shop(plan="starter"))
    assert api.get("/api/v1/plugins/csi/scorecard").status_code == 200  # default: the last four weeks
    for q in ("start=2026-03-31&end=2026-03-01", "start=nope&end=2026-03-01", "start=2024-01-01&end=2026-03-01"):
        r = api.get(f"/api/v1/plugins/csi/scorecard?{q}")
        assert r.status_code == 422 and r.get_json()["code"] == "validation_error", q
