"""One tap from the message itself and the plugin's own signed one-use links: the survey text carries
the overall question's scores as links, minted only when the message leaves (hook ``link_fields``),
stored hashed; tapping one opens the survey with that score filled, without a portal session. A
used, expired or unknown link, or a form posted for another claim's survey, is a friendly page and
loses nothing: the portal link still opens the survey."""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

TAP = re.compile(r"(\d+) (http://localhost/plugins/csi/t/([A-Za-z0-9_-]+)\?overall=(\d+))")


def _due_day(delivered: datetime) -> datetime:
    day = (delivered + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def _taps(body: str) -> dict[int, str]:
    found = TAP.findall(body)
    assert found, body
    assert all(label == score for label, _, _, score in found)
    return {int(score): url[len("http://localhost"):] for _, url, _, score in found}


def _token(path: str) -> str:
    return path.split("/t/")[1].split("?")[0]


def _survey(csi_shop, claim) -> dict:
    return csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()


def _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, mobile):
    claim = make_claim(csi_shop.shop, customer_mobile=mobile)
    due = _due_day(deliver(claim))
    travel(due)
    dispatch()
    body = sms_outbox.to(mobile)[-1].body
    return claim, due, body


def test_a_tap_in_the_message_opens_the_survey_with_that_score(
        app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, portal_client):
    claim, _, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550121")
    taps = _taps(body)
    assert sorted(taps) == [1, 2, 3, 4, 5] and len({_token(u) for u in taps.values()}) == 1
    assert "/c/" in body  # the portal link stays in the text: the way back to the survey
    raw = _token(taps[4])
    with in_tenant(app, csi_shop.shop.id) as session:  # stored hashed, never in clear
        stored = session.execute(text("SELECT token_hash FROM csi_links")).scalars().all()
        assert stored == [hashlib.sha256(raw.encode()).hexdigest()]
        outbox = " ".join(str(r) for r in session.execute(text("SELECT body, options FROM outbox_items")).all())
        assert raw not in outbox and "{csi_tap_4}" in outbox
    thread = csi_shop.api.get(f"/api/v1/claims/{claim.id}/outbox").get_data(as_text=True)
    assert raw not in thread and "{csi_tap_" not in thread

    phone = app.test_client()  # no portal session: the link alone opens the survey
    page = phone.get(taps[4])
    assert page.status_code == 200 and re.search(r'name="overall" value="4" checked', page.get_data(as_text=True))
    r = phone.post(taps[4], data={"csrf_token": csrf_token(page), "survey_id": _survey(csi_shop, claim)["id"],
                                  "overall": "4", "quality": "5", "comment": "Quick and clean"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/plugins/csi/t/{raw}/thanks")
    thanks = phone.get(r.headers["Location"])
    assert thanks.status_code == 200 and "Your answers are saved" in thanks.get_data(as_text=True)
    assert "Review us on Google" in thanks.get_data(as_text=True)
    assert _survey(csi_shop, claim)["response"]["overall"] == 4

    again = phone.get(taps[5])  # one use: the link is spent; the answer stays
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    r = phone.post(taps[1], data={"csrf_token": csrf_token(page), "survey_id": _survey(csi_shop, claim)["id"],
                                  "overall": "1"})
    assert r.status_code == 410 and _survey(csi_shop, claim)["response"]["overall"] == 4
    # the portal link still reaches the survey, with the answers
    portal = portal_client(claim).get(f"/c/s/csi/surveys/{_survey(csi_shop, claim)['id']}")
    assert portal.status_code == 200 and "Quick and clean" in portal.get_data(as_text=True)


def test_an_expired_link_says_so_and_the_portal_still_works(
        app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, portal_client, set_setting):
    set_setting(csi_shop.shop, "csi.link_days", 2)
    claim, due, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550122")
    tap = _taps(body)[5]
    phone = app.test_client()
    form = phone.get(tap)
    assert form.status_code == 200
    travel(due + timedelta(days=2, minutes=1))
    r = phone.get(tap)
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    assert "repair page" in r.get_data(as_text=True)
    r = phone.post(tap, data={"csrf_token": csrf_token(form), "survey_id": _survey(csi_shop, claim)["id"],
                              "overall": "5"})
    assert r.status_code == 410 and _survey(csi_shop, claim)["response"] is None
    customer = portal_client(claim)
    sid = _survey(csi_shop, claim)["id"]
    page = customer.get(f"/c/s/csi/surveys/{sid}")
    r = customer.post(f"/c/s/csi/surveys/{sid}", data={"csrf_token": csrf_token(page), "overall": "5"})
    assert r.status_code == 303 and _survey(csi_shop, claim)["response"]["overall"] == 5


def test_unknown_links_and_another_claims_form_are_refused_and_nothing_changes(
        app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox):
    mine, _, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550123")
    other, _, _ = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550124")
    tap = _taps(body)[2]
    phone = app.test_client()
    for bogus in ("/plugins/csi/t/nope", "/plugins/csi/t/" + "x" * 300, tap.replace(_token(tap), _token(tap)[:-2])):
        r = phone.get(bogus)
        assert r.status_code == 404 and "does not work" in r.get_data(as_text=True), bogus
    page = phone.get(tap)
    r = phone.post(tap, data={"csrf_token": csrf_token(page), "survey_id": _survey(csi_shop, other)["id"],
                              "overall": "1"})
    assert r.status_code == 404 and "another survey" in r.get_data(as_text=True)
    assert _survey(csi_shop, mine)["response"] is None and _survey(csi_shop, other)["response"] is None
    r = phone.post(tap, data={"csrf_token": csrf_token(page), "survey_id": _survey(csi_shop, mine)["id"],
                              "overall": "2"})
    assert r.status_code == 303  # the link was not spent by the refused form


@pytest.mark.parametrize("score", ["0", "6", "x", ""])
def test_a_bad_score_through_the_link_keeps_the_form_and_the_link(
        app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, score):
    claim, _, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550125")
    tap = _taps(body)[3]
    phone = app.test_client()
    page = phone.get(tap)
    sid = _survey(csi_shop, claim)["id"]
    r = phone.post(tap, data={"csrf_token": csrf_token(page), "survey_id": sid, "overall": score,
                              "comment": "Typed text"})
    assert r.status_code == 422 and "Choose a score from 1 to 5." in r.get_data(as_text=True)
    assert "Typed text" in r.get_data(as_text=True) and _survey(csi_shop, claim)["response"] is None
    r = phone.post(tap, data={"csrf_token": csrf_token(page), "survey_id": sid, "overall": "3"})
    assert r.status_code == 303


def test_each_reminder_carries_its_own_link(app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox,
                                            set_setting):
    set_setting(csi_shop.shop, "csi.reminders", 1)
    _, due, _ = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550126")
    travel(due + timedelta(days=3, hours=1))
    dispatch()
    texts = sms_outbox.to("+16175550126")
    assert len(texts) == 2 and texts[1].body.startswith("Reminder:")
    assert _token(_taps(texts[0].body)[1]) != _token(_taps(texts[1].body)[1])


def test_no_tap_links_when_the_shop_turns_them_off(app, csi_shop, make_claim, deliver, travel, dispatch,
                                                   sms_outbox, set_setting):
    set_setting(csi_shop.shop, "csi.tap_links", False)
    _, _, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550127")
    assert "/plugins/csi/t/" not in body and "{csi_tap" not in body and "/c/" in body


def test_a_link_never_reaches_another_shops_survey(app, csi_shop, make_shop, make_claim, deliver, travel, dispatch,
                                                   sms_outbox, api_client, set_setting):
    other_shop = make_shop(plan="starter", name="Other Collision")
    set_setting(other_shop, "csi.delay_hours", 48)
    mine, _, body = _sent_survey(csi_shop, make_claim, deliver, travel, dispatch, sms_outbox, "+16175550128")
    theirs = make_claim(other_shop, customer_mobile="+16175550129")
    deliver(theirs)
    their_survey = api_client(other_shop).get(f"/api/v1/plugins/csi/claims/{theirs.id}/survey").get_json()
    tap = _taps(body)[1]
    phone = app.test_client()
    page = phone.get(tap)
    assert "Other Collision" not in page.get_data(as_text=True)
    r = phone.post(tap, data={"csrf_token": csrf_token(page), "survey_id": their_survey["id"], "overall": "1"})
    assert r.status_code == 404 and "another survey" in r.get_data(as_text=True)
    after = api_client(other_shop).get(f"/api/v1/plugins/csi/claims/{theirs.id}/survey").get_json()
    assert after["response"] is None and _survey(csi_shop, mine)["response"] is None
