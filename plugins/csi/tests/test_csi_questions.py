"""Per-shop question sets (a default set: the four built-in questions) and NPS 0–10 as the overall
question: the form asks the shop's set, answers are checked against it, an NPS detractor opens a
follow-up, and bad settings are refused with the field's message."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bayline.testing.forms import csrf_token

OWN = "How friendly was our front desk?"


def _due_day(delivered: datetime) -> datetime:
    day = (delivered + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def _survey(csi_shop, claim) -> dict:
    return csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()


def _open(csi_shop, make_claim, deliver, travel, portal_client, mobile="+16175550131"):
    claim = make_claim(csi_shop.shop, customer_mobile=mobile)
    travel(_due_day(deliver(claim)))
    phone = portal_client(claim)
    sid = _survey(csi_shop, claim)["id"]
    return claim, phone, sid, phone.get(f"/c/s/csi/surveys/{sid}")


def test_the_default_set_asks_the_four_built_in_questions(app, csi_shop, make_claim, deliver, travel,
                                                          portal_client):
    _, _, _, page = _open(csi_shop, make_claim, deliver, travel, portal_client)
    html = page.get_data(as_text=True)
    for key in ("overall", "communication", "quality", "on_time", "cleanliness"):
        assert f'id="q-{key}"' in html
    assert 'name="overall" value="0"' not in html and 'name="overall" value="5"' in html


def test_a_shops_own_set_with_nps(app, csi_shop, make_claim, deliver, travel, dispatch, portal_client,
                                  sms_outbox, set_setting, client_for):
    set_setting(csi_shop.shop, "csi.overall_scale", "nps")
    set_setting(csi_shop.shop, "csi.questions", f"quality\n{OWN}")
    claim, phone, sid, page = _open(csi_shop, make_claim, deliver, travel, portal_client)
    html = page.get_data(as_text=True)
    assert "How likely are you to recommend us" in html and OWN in html
    assert 'id="q-quality"' in html and 'id="q-q1"' in html and 'id="q-communication"' not in html
    assert all(f'name="overall" value="{n}"' in html for n in range(11))
    dispatch()  # the message's tap links follow the scale: 0 to 10
    body = sms_outbox.to("+16175550131")[0].body
    assert re.findall(r"\?overall=(\d+)", body) == [str(n) for n in range(11)]

    r = phone.post(f"/c/s/csi/surveys/{sid}", data={"csrf_token": csrf_token(page), "overall": "11", "q1": "4",
                                                    "comment": "kept"})
    assert r.status_code == 422 and "Choose a score from 0 to 10." in r.get_data(as_text=True)
    assert "kept" in r.get_data(as_text=True) and _survey(csi_shop, claim)["response"] is None
    r = phone.post(f"/c/s/csi/surveys/{sid}", data={"csrf_token": csrf_token(page), "overall": "6", "q1": "9"})
    assert r.status_code == 422 and "Choose a score from 1 to 5." in r.get_data(as_text=True)
    r = phone.post(f"/c/s/csi/surveys/{sid}", data={"csrf_token": csrf_token(page), "overall": "6", "q1": "4",
                                                    "quality": "3"})
    assert r.status_code == 303
    body = _survey(csi_shop, claim)
    assert body["response"]["overall"] == 6 and body["response"]["scale"] == "nps"
    assert body["response"]["extra"] == {OWN: 4} and body["response"]["quality"] == 3
    assert body["followup"]["status"] == "open"  # 6 is a detractor (csi.nps_followup_threshold)
    panel = client_for(csi_shop.owner, csi_shop.shop).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "6/10" in panel and f"{OWN}</dt><dd>4/5" in panel
    again = phone.get(f"/c/s/csi/surveys/{sid}").get_data(as_text=True)  # the saved answers, as asked
    assert re.search(r'name="q1" value="4" checked', again) and re.search(r'name="overall" value="6" checked', again)


def test_a_promoter_opens_no_follow_up(app, csi_shop, make_claim, deliver, travel, portal_client, set_setting):
    set_setting(csi_shop.shop, "csi.overall_scale", "nps")
    claim, phone, sid, page = _open(csi_shop, make_claim, deliver, travel, portal_client, "+16175550132")
    assert phone.post(f"/c/s/csi/surveys/{sid}", data={"csrf_token": csrf_token(page), "overall": "0"}
                      ).status_code == 303  # 0 is a valid NPS answer (and a detractor)
    assert _survey(csi_shop, claim)["followup"] is not None
    other, phone2, sid2, page2 = _open(csi_shop, make_claim, deliver, travel, portal_client, "+16175550133")
    assert phone2.post(f"/c/s/csi/surveys/{sid2}", data={"csrf_token": csrf_token(page2), "overall": "9"}
                       ).status_code == 303
    assert _survey(csi_shop, other)["followup"] is None


@pytest.mark.parametrize(("key", "value", "message"), [
    ("csi.questions", "\n".join(f"Question {n}?" for n in range(7)), "at most 6"),
    ("csi.questions", "quality\nQuality", "listed twice"),
    ("csi.questions", "x" * 151, "at most 150"),
    ("csi.overall_scale", "stars", None),
    ("csi.nps_followup_threshold", 11, "0 to 10"),
    ("csi.link_days", 0, "at least 1"),
])
def test_bad_question_settings_are_refused(app, csi_shop, key, value, message):
    r = csi_shop.api.patch("/api/v1/shop/settings", json={key: value})
    assert r.status_code == 422, r.get_json()
    assert key in str(r.get_json()) and (message is None or message in str(r.get_json()))
    assert csi_shop.api.get("/api/v1/shop/settings").get_json()[key] != value


def test_the_settings_page_keeps_a_bad_question_set_inline(app, csi_shop, client_for):
    staff = client_for(csi_shop.owner, csi_shop.shop)
    page = staff.get("/console/settings/")
    typed = "quality\nQuality"
    r = staff.post("/console/settings/", data={"csrf_token": csrf_token(page), "shown": "csi.questions",
                                               "csi.questions": typed})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "listed twice" in html and typed in html
