"""The customer books from the portal (only free slots shown), the shop confirms in the calendar, the
portal shows the confirmed time; the confirmation and change texts go through the outbox as
transactional messages and the reminder is a held outbox row due 24 h before (never a countdown);
reschedule/cancel stop at the cut-off; pickup is offered once the claim is ready; bad input is a
friendly page with nothing booked."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bayline_scheduling.testing import NOW

from bayline.plugin_api import hookimpl
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

TUE_0900 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
WED_0900 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def _book(phone, type_key, start):
    page = phone.get(f"/c/s/scheduling/book/{type_key}?day=2026-03-03")
    return phone.post(f"/c/s/scheduling/book/{type_key}", data={"csrf_token": csrf_token(page),
                                                                  "start": start})


def _outbox(app, shop_id):
    from sqlalchemy import select

    from bayline.messaging.models import OutboxItem

    with in_tenant(app, shop_id) as session:
        return [(i.idempotency_key, i.state, i.purpose, i.due_at, i.body) for i in
                session.scalars(select(OutboxItem).order_by(OutboxItem.id))]


def test_book_confirm_show_and_messages(app, sched, portal_client, client_for, sms_outbox, dispatch, travel):
    phone = portal_client(sched.claim)
    card = phone.get("/c/s/").get_data(as_text=True)
    assert "Book drop-off" in card and "Book pickup" not in card  # pickup only once ready
    page = phone.get("/c/s/scheduling/book/dropoff?day=2026-03-03").get_data(as_text=True)
    assert 'value="2026-03-03T14:00:00+00:00"' in page and ">09:00<" in page
    assert "2026-03-03T22:00" not in page  # 17:00 is closed
    r = _book(phone, "dropoff", WED_0900.isoformat())
    assert r.status_code == 303, r.get_data(as_text=True)
    detail = phone.get(r.headers["Location"]).get_data(as_text=True)
    assert "Wednesday 04 March 2026, 09:00" in detail and "Waiting for the shop to confirm" in detail
    assert any("received your drop-off request" in t.body for t in sms_outbox)

    staff = client_for(sched.owner)
    cal = staff.get("/plugins/scheduling/?day=2026-03-04")
    text = cal.get_data(as_text=True)
    assert cal.status_code == 200 and "RO-1001" in text and "pending" in text
    appt_id = int(text.split('data-appointment-id="')[1].split('"')[0])
    r = staff.post(f"/plugins/scheduling/appointments/{appt_id}/confirm",
                   data={"csrf_token": csrf_token(cal), "back": "/plugins/scheduling/?day=2026-03-04"})
    assert r.status_code == 303
    detail = phone.get(f"/c/s/scheduling/appointments/{appt_id}").get_data(as_text=True)
    assert "Confirmed" in detail and "09:00" in detail
    confirmations = [t for t in sms_outbox if "is confirmed for Wed 04 Mar at 09:00" in t.body]
    assert len(confirmations) == 1 and confirmations[0].to == "+16175550100"
    assert "/c/" in confirmations[0].body  # the live portal link, filled at send time only

    # the reminder: a held transactional row due 24 h before, sent by the scheduler then
    rows = _outbox(app, sched.shop.id)
    reminder = [r for r in rows if r[0].startswith("scheduling-reminder:")]
    assert len(reminder) == 1 and reminder[0][1] == "held" and reminder[0][2] == "transactional"
    assert reminder[0][3] == WED_0900 - timedelta(hours=24)
    travel(WED_0900 - timedelta(hours=24) + timedelta(minutes=1))
    dispatch()
    assert any(t.body.startswith("Harbor Collision: reminder") for t in sms_outbox)

    # the board shows today's drop-offs on the day
    travel(WED_0900 - timedelta(hours=2))
    board = staff.get("/console/").get_data(as_text=True)
    assert "Today: drop-offs and pickups" in board and "RO-1001" in board.split('id="sched-today"')[1][:2000]


def test_move_cancels_the_old_reminder_and_cutoff_stops_changes(app, sched, portal_client, sms_outbox, travel):
    sched.set("scheduling.auto_confirm_dropoff", True)
    phone = portal_client(sched.claim)
    r = _book(phone, "dropoff", WED_0900.isoformat())
    appt = int(r.headers["Location"].rsplit("/", 1)[1])
    page = phone.get(f"/c/s/scheduling/appointments/{appt}/move?day=2026-03-05")
    new = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    r = phone.post(f"/c/s/scheduling/appointments/{appt}/move", data={"csrf_token": csrf_token(page),
                                                                      "start": new.isoformat()})
    assert r.status_code == 303
    assert any("moved to Thu 05 Mar at 10:00" in t.body for t in sms_outbox)
    rows = _outbox(app, sched.shop.id)
    states = {k: s for k, s, *_ in rows if k.startswith("scheduling-reminder:")}
    assert sorted(states.values()) == ["cancelled", "held"]
    # past the cut-off (12 h before) the customer can no longer move or cancel online
    travel(new - timedelta(hours=6))
    page = phone.get(f"/c/s/scheduling/appointments/{appt}")
    assert "please call the shop" in page.get_data(as_text=True)
    page = phone.get("/c/s/scheduling/book/inspection?day=2026-03-05")  # a page with a form token
    r = phone.post(f"/c/s/scheduling/appointments/{appt}/cancel", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 409 and "too late" in r.get_data(as_text=True)


def test_portal_bad_input_is_a_friendly_page_and_nothing_is_booked(sched, portal_client, make_shop, make_claim):
    phone = portal_client(sched.claim)
    for start, words in ((datetime(2026, 3, 2, 13, 0, tzinfo=UTC), "already passed"),
                         (datetime(2026, 3, 3, 23, 0, tzinfo=UTC), "outside the shop"),
                         (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), "closed that day"),
                         (datetime(2026, 6, 1, 14, 0, tzinfo=UTC), "too far ahead")):
        r = _book(phone, "dropoff", start.isoformat())
        assert r.status_code == 422 and words in r.get_data(as_text=True)
        assert 'name="start"' in r.get_data(as_text=True)  # fresh free times to choose from
    r = _book(phone, "dropoff", "not-a-time")
    assert r.status_code == 422
    assert phone.get("/c/s/scheduling/book/teleport").status_code == 404
    r = phone.get("/c/s/scheduling/book/pickup")
    assert r.status_code == 409 and "once your car is ready" in r.get_data(as_text=True)
    assert "Waiting" not in phone.get("/c/s/scheduling/").get_data(as_text=True)
    # another claim's appointment is not found
    other = make_claim(sched.shop, number="RO-7777")
    theirs = portal_client(other)
    r = _book(theirs, "dropoff", TUE_0900.isoformat())
    appt = r.headers["Location"].rsplit("/", 1)[1]
    assert phone.get(f"/c/s/scheduling/appointments/{appt}").status_code == 404
    page = phone.get("/c/s/scheduling/book/dropoff?day=2026-03-03")
    assert phone.post(f"/c/s/scheduling/appointments/{appt}/cancel",
                      data={"csrf_token": csrf_token(page)}).status_code == 404


def test_ready_claim_is_invited_to_book_pickup(sched, portal_client, sms_outbox, move_to_ready):
    move_to_ready(sched.claim)
    assert any("is ready. Book a pickup time" in t.body for t in sms_outbox)
    phone = portal_client(sched.claim)
    assert "Book pickup" in phone.get("/c/s/").get_data(as_text=True)
    r = _book(phone, "pickup", TUE_0900.isoformat())
    assert r.status_code == 303
    assert "Confirmed" in phone.get(r.headers["Location"]).get_data(as_text=True)  # pickups auto-confirm


def test_staff_move_keeps_what_was_typed_on_error(sched, client_for, portal_client):
    phone = portal_client(sched.claim)
    appt = int(_book(phone, "dropoff", TUE_0900.isoformat()).headers["Location"].rsplit("/", 1)[1])
    staff = client_for(sched.owner)
    cal = staff.get("/plugins/scheduling/?day=2026-03-03")
    r = staff.post(f"/plugins/scheduling/appointments/{appt}/move", data={"csrf_token": csrf_token(cal),
                                                                           "start": "2026-03-03T19:30"})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "Not moved" in text and 'value="2026-03-03T19:30"' in text
    r = staff.post(f"/plugins/scheduling/appointments/{appt}/move", data={"csrf_token": csrf_token(cal),
                                                                           "start": "2026-03-03T10:00"})
    assert r.status_code == 303
    week = staff.get("/plugins/scheduling/?view=week&day=2026-03-03&type=dropoff").get_data(as_text=True)
    assert "10:00" in week and "RO-1001" in week
    assert NOW  # the clock of these tests



class _StageTexter:
    """Another plugin texting its own stage message, with the portal link, for every stage change."""

    def __init__(self, body: str) -> None:
        self.body = body

    @hookimpl
    def on_event(self, event):
        from bayline.plugin_api import Claim, get_session, outbox

        if event.type == "claim.stage_changed":
            claim = get_session().get(Claim, event.payload["claim_id"])
            outbox.enqueue(channel="sms", purpose="transactional", recipient=claim.customer_mobile,
                           body=self.body, idempotency_key=f"test-stage:{event.id}", claim=claim,
                           kind="automatic", event_id=event.id)


@pytest.mark.parametrize("body, texts", [("Ready! {portal_link}", 1), ("Ready, call us.", 2)])
def test_one_change_one_text_when_the_stage_text_carries_the_portal_link(app, sched, portal_client, sms_outbox,
                                                                         move_to_ready, body, texts):
    """A stage text with the portal link (where pickup is booked) is the only text at ready; one
    without it still gets the pickup invitation after it."""
    registry = app.extensions["bayline.plugins"]
    registry.register(_StageTexter(body), "test-stage-texter", core=True)
    try:
        move_to_ready(sched.claim)
    finally:
        registry.unregister("test-stage-texter")
    sent = [t.body for t in sms_outbox]
    assert len(sent) == texts, sent
    assert sent[0].startswith("Ready")
    assert ("is ready. Book a pickup time" in sent[-1]) is (texts == 2)
    assert "Book pickup" in portal_client(sched.claim).get("/c/s/").get_data(as_text=True)
