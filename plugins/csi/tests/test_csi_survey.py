"""Issue 25 acceptance: claim delivered → survey due (time travelled) → the customer answers on the
portal → the response is on the claim; a score of 1 opens a follow-up; scores 1 and 5 get identical
review invitations; marketing without consent is not sent and shows on the portal instead; bad
input (out-of-range scores, answering after the edit window, another claim's survey, a closed
survey) is refused clearly and loses nothing."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

JSON = {"Accept": "application/json"}


def _due_day(delivered: datetime) -> datetime:
    """Midday (US time) on the third day after delivery: past the 48 h delay, outside quiet hours."""
    day = (delivered + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def _survey_id(csi_shop, claim) -> int:
    r = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def _answer(client, survey_id, **answers):
    page = client.get(f"/c/s/csi/surveys/{survey_id}")
    return client.post(f"/c/s/csi/surveys/{survey_id}", data={"csrf_token": csrf_token(page), **answers})


def _grant_marketing(app, shop, contact):
    from bayline.events import commit
    from bayline.messaging import consent

    with in_tenant(app, shop.id) as session:
        consent.set_consent(contact, "sms", "marketing", "granted", "staff", wording="Yes, text me offers.",
                            wording_version="sha256:test")
        commit(session)


def test_delivered_claim_survey_answer_followup_and_identical_invitations(
        app, csi_shop, make_claim, deliver, travel, dispatch, portal_client, sms_outbox, client_for):
    low = make_claim(csi_shop.shop, customer_mobile="+16175550101")
    high = make_claim(csi_shop.shop, customer_mobile="+16175550102")
    delivered = deliver(low)
    deliver(high)
    for contact in ("+16175550101", "+16175550102"):
        _grant_marketing(app, csi_shop.shop, contact)

    # before the shop's delay nothing goes out: the survey is a held outbox row
    dispatch()
    assert len(sms_outbox) == 0
    survey = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{low.id}/survey").get_json()
    assert survey["channel"] == "sms" and survey["send_error"] is None
    assert datetime.fromisoformat(survey["due_at"]) - delivered == timedelta(hours=48)

    travel(_due_day(delivered))
    dispatch()
    texts = {t.to: t.body for t in sms_outbox}
    assert set(texts) == {"+16175550101", "+16175550102"}
    assert "How did we do" in texts["+16175550101"] and "/c/" in texts["+16175550101"]

    # the customer taps a score on the portal card: the form opens with it filled
    phone = portal_client(low)
    card = phone.get("/c/s/").get_data(as_text=True)
    assert "How did we do?" in card and "overall=1" in card
    page = phone.get("/c/s/csi/?overall=1", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'name="overall" value="1" checked', page)
    r = _answer(phone, _survey_id(csi_shop, low), overall="1", communication="2", quality="1", comment="Paint run")
    assert r.status_code == 303
    r = _answer(portal_client(high), _survey_id(csi_shop, high), overall="5", quality="5")
    assert r.status_code == 303

    # the response is on the claim (API and staff panel), the score of 1 opened a follow-up
    body = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{low.id}/survey").get_json()
    assert body["response"]["overall"] == 1 and body["response"]["comment"] == "Paint run"
    assert body["followup"]["status"] == "open"
    assert datetime.fromisoformat(body["followup"]["due_at"]) == _due_day(delivered) + timedelta(hours=24)
    assert csi_shop.api.get(f"/api/v1/plugins/csi/claims/{high.id}/survey").get_json()["followup"] is None
    panel = client_for(csi_shop.owner, csi_shop.shop).get(f"/console/claims/{low.id}").get_data(as_text=True)
    assert "Customer satisfaction" in panel and "Paint run" in panel and "Follow-up: open" in panel

    # identical invitations for 1 and 5, both sent (marketing consent), both logged with the same rule
    low_inv, high_inv = (csi_shop.api.get(f"/api/v1/plugins/csi/claims/{c.id}/survey").get_json()["invitation"]
                         for c in (low, high))
    assert low_inv == {**high_inv, "created_at": low_inv["created_at"]}
    assert low_inv["rule"] == "responded" and low_inv["delivery"] == "sent"
    invites = [t for t in sms_outbox if "public review" in t.body]
    assert len(invites) == 2

    def strip(text: str) -> bytes:
        return re.sub(r"https?://\S+/c/\S+", "<link>", text).encode()

    assert strip(invites[0].body) == strip(invites[1].body)
    assert "search.google.com/local/writereview?placeid=" in invites[0].body
    assert "yelp" not in invites[0].body.lower()
    from bayline_csi.models import CsiInvitation

    with in_tenant(app, csi_shop.shop.id) as session:
        rows = session.query(CsiInvitation).all()
        assert len({r.body for r in rows}) == 1 and {r.rule for r in rows} == {"responded"}

    # the follow-up queue shows it; staff record the outcome; recovery rate reported
    tasks = csi_shop.api.get("/api/v1/plugins/csi/followups?status=open").get_json()
    assert [t["claim_id"] for t in tasks] == [low.id]
    r = csi_shop.api.patch(f"/api/v1/plugins/csi/followups/{tasks[0]['id']}",
                           json={"status": "resolved", "outcome": "Repainted the door", "notes": "Called Dana"})
    assert r.status_code == 200 and r.get_json()["status"] == "resolved"
    summary = csi_shop.api.get("/api/v1/plugins/csi/summary").get_json()
    assert summary == {"surveys": 2, "responses": 2, "response_rate": 1.0, "average_overall": 3.0,
                       "followups": 1, "recovered": 1, "recovery_rate": 1.0}


def test_marketing_invitation_without_consent_is_not_sent_and_shows_on_the_portal(
        app, csi_shop, make_claim, deliver, travel, dispatch, portal_client, sms_outbox):
    claim = make_claim(csi_shop.shop, customer_mobile="+16175550103")
    travel(_due_day(deliver(claim)))
    dispatch()
    assert len(sms_outbox) == 1  # the survey (transactional: intake consent)
    phone = portal_client(claim)
    assert _answer(phone, _survey_id(csi_shop, claim), overall="4").status_code == 303
    assert len(sms_outbox) == 1  # no marketing text
    inv = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()["invitation"]
    assert inv["delivery"] == "portal_only" and inv["reason"].startswith("no_marketing_consent")
    card = phone.get("/c/s/").get_data(as_text=True)
    assert "Review us on Google" in card and "Review us on Facebook" in card


def test_non_respondents_get_the_same_invitation_when_the_window_closes(
        app, csi_shop, make_claim, deliver, travel, dispatch, client_for):
    answered = make_claim(csi_shop.shop, customer_mobile="+16175550104")
    silent = make_claim(csi_shop.shop, customer_mobile="+16175550105")
    delivered = deliver(answered)
    deliver(silent)
    travel(_due_day(delivered))
    dispatch()
    travel(_due_day(delivered) + timedelta(days=15))
    staff = client_for(csi_shop.owner, csi_shop.shop)
    page = staff.get("/plugins/csi/")
    assert page.status_code == 200 and "Customer satisfaction" in page.get_data(as_text=True)
    assert csi_shop.api.get(f"/api/v1/plugins/csi/claims/{silent.id}/survey").get_json()["invitation"] is None
    r = staff.post("/plugins/csi/sweep", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 303
    rows = {c.id: csi_shop.api.get(f"/api/v1/plugins/csi/claims/{c.id}/survey").get_json()["invitation"]
            for c in (answered, silent)}
    assert {r["rule"] for r in rows.values()} == {"window_closed"}


@pytest.mark.parametrize("score", ["0", "6", "abc", "", "3.5"])
def test_out_of_range_scores_keep_the_form_and_store_nothing(
        app, csi_shop, make_claim, deliver, travel, dispatch, portal_client, score):
    claim = make_claim(csi_shop.shop)
    travel(_due_day(deliver(claim)))
    phone = portal_client(claim)
    r = _answer(phone, _survey_id(csi_shop, claim), overall=score, comment="Kept comment")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Choose a score from 1 to 5." in page and "Kept comment" in page
    assert csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()["response"] is None


def test_answer_can_change_within_the_edit_window_then_not(
        app, csi_shop, make_claim, deliver, travel, dispatch, portal_client):
    claim = make_claim(csi_shop.shop)
    due = _due_day(deliver(claim))
    travel(due)
    phone = portal_client(claim)
    sid = _survey_id(csi_shop, claim)
    assert _answer(phone, sid, overall="3").status_code == 303
    travel(due + timedelta(hours=2))
    assert _answer(phone, sid, overall="4").status_code == 303
    travel(due + timedelta(hours=25))
    r = _answer(phone, sid, overall="1")
    assert r.status_code == 409 and "can no longer be changed" in r.get_data(as_text=True)
    body = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()
    assert body["response"]["overall"] == 4 and body["followup"] is None


def test_another_claims_survey_is_not_found_and_a_closed_survey_says_so(
        app, csi_shop, make_claim, deliver, travel, portal_client):
    mine, other = make_claim(csi_shop.shop), make_claim(csi_shop.shop)
    due = _due_day(deliver(mine))
    deliver(other)
    travel(due)
    phone = portal_client(mine)
    other_id = _survey_id(csi_shop, other)
    assert phone.get(f"/c/s/csi/surveys/{other_id}").status_code == 404
    page = phone.get(f"/c/s/csi/surveys/{_survey_id(csi_shop, mine)}")
    r = phone.post(f"/c/s/csi/surveys/{other_id}", data={"csrf_token": csrf_token(page), "overall": "1"})
    assert r.status_code == 404
    assert csi_shop.api.get(f"/api/v1/plugins/csi/claims/{other.id}/survey").get_json()["response"] is None
    travel(due + timedelta(days=15))
    r = phone.get(f"/c/s/csi/surveys/{_survey_id(csi_shop, mine)}")
    assert r.status_code == 410 and "This survey has closed" in r.get_data(as_text=True)
    r = phone.post(f"/c/s/csi/surveys/{_survey_id(csi_shop, mine)}",
                   data={"csrf_token": csrf_token(page), "overall": "5"})
    assert r.status_code == 410


def test_api_errors_have_stable_codes(csi_shop, make_claim):
    claim = make_claim(csi_shop.shop)
    r = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey")
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    r = csi_shop.api.get("/api/v1/plugins/csi/responses?min_score=11")
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"
    r = csi_shop.api.patch("/api/v1/plugins/csi/followups/999999", json={"status": "resolved"})
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"


def test_periodic_task_invites_non_respondents_once(app, csi_shop, make_claim, deliver, travel):
    from bayline_csi.tasks import invite_non_respondents

    claim = make_claim(csi_shop.shop, customer_mobile="+16175550106")
    due = _due_day(deliver(claim))
    travel(due)
    with app.app_context():
        assert invite_non_respondents() == 0  # window still open
    travel(due + timedelta(days=15))
    with app.app_context():
        assert invite_non_respondents() == 1
        assert invite_non_respondents() == 0
    inv = csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()["invitation"]
    assert inv["rule"] == "window_closed" and inv["delivery"] == "portal_only"


def test_reminders_are_capped_and_cancelled_by_an_answer(app, csi_shop, make_claim, deliver, travel, dispatch,
                                                         portal_client, sms_outbox, set_setting):
    from bayline.messaging.models import OutboxItem

    set_setting(csi_shop.shop, "csi.reminders", 2)
    quiet, answers = (make_claim(csi_shop.shop, customer_mobile=m) for m in ("+16175550107", "+16175550108"))
    due = _due_day(deliver(quiet))
    deliver(answers)
    with in_tenant(app, csi_shop.shop.id) as session:
        keys = sorted(i.idempotency_key for i in session.query(OutboxItem).all())
    assert keys == sorted([f"csi-survey:{quiet.id}", f"csi-reminder:{quiet.id}:1", f"csi-reminder:{quiet.id}:2",
                           f"csi-survey:{answers.id}", f"csi-reminder:{answers.id}:1",
                           f"csi-reminder:{answers.id}:2"])
    travel(due)
    dispatch()
    assert _answer(portal_client(answers), _survey_id(csi_shop, answers), overall="5").status_code == 303
    travel(due + timedelta(days=7))
    dispatch()
    reminders = [t.to for t in sms_outbox if t.body.startswith("Reminder:")]
    assert reminders == ["+16175550107", "+16175550107"]  # two, capped; none after the answer


def test_reminder_setting_is_capped(app, csi_shop):
    from bayline import settings_registry

    with in_tenant(app, csi_shop.shop.id), pytest.raises(Exception, match="at most 2"):
        settings_registry.set_values(csi_shop.shop.id, {"csi.reminders": 3}, role=None)
