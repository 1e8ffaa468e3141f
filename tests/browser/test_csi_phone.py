"""Issue 25 in a real browser, at phone size: a delivered claim's customer taps a score on the
portal card, the survey opens with it filled, they answer the rest and send; the thank-you page
shows the same review invitation every customer gets, and the response is on the claim."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
pytest.importorskip("bayline_csi", reason="the csi plugin is not installed")


def test_customer_answers_the_survey_on_a_phone(app, live_server, phone, artifacts, db_backend, make_shop,
                                                 make_claim, api_client, set_setting):
    from sqlalchemy import select

    from bayline.claims import service
    from bayline.claims.models import Claim, Stage
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    base = live_server
    shop = make_shop(plan="starter", name="Harbor Collision")
    set_setting(shop, "csi.delay_hours", 0)
    set_setting(shop, "csi.google_place_id", "ChIJN1t_tDeuEmsRUsoyG83frY4")
    claim = make_claim(shop, number="RO-5120", customer_first_name="Dana", customer_last_name="Reyes")
    with in_tenant(app, shop.id) as session:
        current = session.get(Claim, claim.id)
        service.change_stage(current, session.scalars(select(Stage).where(Stage.terminal.is_(True))).first())
        commit(session)

    portal = phone.new_page()
    portal.goto(f"{base}/c/{claim.portal_link.raw}")
    portal.fill("#last_name", "reyes")
    portal.fill("#claim_number", claim.number.lower())
    portal.click("button:has-text('Show my repair')")
    portal.wait_for_url(f"{base}/c/s/")
    portal.click("a.csi-score:has-text('2')")
    portal.wait_for_selector("h1:has-text('How did we do?')")
    assert portal.is_checked("input[name=overall][value='2']")  # the tapped score is filled in
    portal.click("#q-communication label:has-text('3')")
    portal.click("#q-quality label:has-text('2')")
    portal.fill("#comment", "The bumper gap is uneven")
    assert portal.evaluate("document.documentElement.scrollWidth") <= 360
    portal.screenshot(path=str(artifacts / f"csi-phone-survey-{db_backend}.png"), full_page=True)
    portal.click("button:has-text('Send my answers')")
    portal.wait_for_selector("#csi-thanks")
    assert "Review us on Google" in portal.content()
    portal.screenshot(path=str(artifacts / f"csi-phone-thanks-{db_backend}.png"), full_page=True)

    body = api_client(shop).get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()
    assert body["response"]["overall"] == 2 and body["response"]["communication"] == 3
    assert body["response"]["comment"] == "The bumper gap is uneven"
    assert body["followup"]["status"] == "open"  # 2 is at the default threshold
    assert body["invitation"]["delivery"] == "portal_only"  # no marketing consent


def test_scorecard_chart_screenshot(app, live_server, desktop, artifacts, db_backend, make_shop, make_user,
                                    make_claim):
    from datetime import UTC, date, datetime, timedelta

    from bayline_csi.models import CsiResponse, CsiSurvey

    from bayline.claims.models import Claim
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    from .conftest import log_in

    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, email=f"csi-chart-{db_backend}@example.com")
    for i, score in enumerate((5, 3, 4, 2, 5, 4)):
        claim = make_claim(shop, insurer=("Acme Mutual", "Bay State")[i % 2])
        delivered = datetime(2026, 3, 3, 15, tzinfo=UTC) + timedelta(days=4 * i)
        with in_tenant(app, shop.id) as session:
            c = session.get(Claim, claim.id)
            c.created_at, c.delivered_at = delivered - timedelta(days=3), delivered
            survey = CsiSurvey(tenant_id=shop.id, claim_id=c.id, due_at=delivered,
                               closes_at=delivered + timedelta(days=14))
            session.add(survey)
            session.flush()
            session.add(CsiResponse(tenant_id=shop.id, survey_id=survey.id, claim_id=c.id, overall=score,
                                    editable_until=delivered))
            commit(session)
    page = desktop.new_page()
    log_in(page, live_server, owner.email)
    page.goto(f"{live_server}/plugins/csi/scorecard?start={date(2026, 3, 1)}&end={date(2026, 3, 28)}")
    page.wait_for_selector("#csi-trend rect")
    assert page.locator("#csi-trend rect").count() == 4
    assert page.locator("#csi-scorecard").inner_text().count("Insurer:") == 2
    page.screenshot(path=str(artifacts / f"csi-scorecard-{db_backend}.png"), full_page=True)


def test_one_tap_link_opens_the_nps_survey_on_a_phone(app, live_server, phone, artifacts, db_backend, make_shop,
                                                      make_claim, api_client, set_setting):
    """The link in the survey message (here minted as the send would) opens the survey without a
    portal session, with the tapped NPS score filled; 0–10 fits a phone's width."""
    from sqlalchemy import select

    from bayline.claims import service
    from bayline.claims.models import Claim, Stage
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    shop = make_shop(plan="starter", name="Harbor Collision")
    set_setting(shop, "csi.delay_hours", 0)
    set_setting(shop, "csi.overall_scale", "nps")
    set_setting(shop, "csi.questions", "quality\nHow friendly was our front desk?")
    claim = make_claim(shop, number="RO-5121")
    with in_tenant(app, shop.id) as session:
        current = session.get(Claim, claim.id)
        service.change_stage(current, session.scalars(select(Stage).where(Stage.terminal.is_(True))).first())
        commit(session)
    from bayline_csi import service as csi

    with in_tenant(app, shop.id) as session:
        urls = csi.mint_links(None, session.get(Claim, claim.id), [f"{csi.TAP_PREFIX}{n}" for n in range(11)])
        commit(session)
    page = phone.new_page()
    page.goto(urls[f"{csi.TAP_PREFIX}8"].replace("http://localhost", live_server))
    page.wait_for_selector("h1:has-text('How did we do?')")
    assert page.is_checked("input[name=overall][value='8']")
    page.click("#q-q1 label:has-text('5')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts / f"csi-phone-tap-nps-{db_backend}.png"), full_page=True)
    page.click("button:has-text('Send my answers')")
    page.wait_for_selector("#csi-thanks")
    body = api_client(shop).get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()
    assert body["response"]["overall"] == 8 and body["response"]["scale"] == "nps"
    assert body["response"]["extra"] == {"How friendly was our front desk?": 5}
