"""Booking through the API: only free slots are offered, the database keeps bookings apart (a taken
slot answers "slot just taken" with fresh alternatives), reservations hold a slot for a while, moves
and cancellations free the old time; and the bad-input list of the issue, each refused clearly with
nothing booked."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bayline_scheduling.testing import NOW, utc

API = "/api/v1/plugins/scheduling"
TUE_0900 = utc(2026, 3, 3, 14, 0)  # Tuesday 09:00 in New York (EST)


def _book(api, claim_id, start, type_="dropoff", **extra):
    return api.post(f"{API}/appointments", json={"claim_id": claim_id, "type": type_, "start": start, **extra})


def _count(api, claim_id):
    rows = api.get(f"{API}/appointments", query_string={"start": utc(2026, 1, 1), "end": utc(2027, 1, 1),
                                                        "status": ["pending", "confirmed"]}).get_json()
    return len([r for r in rows if r["claim_id"] == claim_id])


def test_availability_offers_free_slots_in_shop_time_and_booking_uses_them(sched):
    r = sched.api.get(f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-03",
                                                             "end": "2026-03-03"})
    assert r.status_code == 200, r.get_json()
    slots = r.get_json()
    assert slots[0]["start"] == TUE_0900.replace("14:00", "13:00")  # 08:00 EST
    assert slots[0]["local"].startswith("2026-03-03T08:00:00-05:00") and slots[0]["free_units"] == 2
    assert slots[-1]["local"].startswith("2026-03-03T16:45")  # a 15-minute drop-off ends by 17:00
    r = _book(sched.api, sched.claim.id, TUE_0900)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "pending" and body["type"] == "dropoff" and body["sequence"] == 0
    after = {s["start"]: s["free_units"] for s in sched.api.get(
        f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-03", "end": "2026-03-03"}).get_json()}
    assert after[datetime.fromisoformat(TUE_0900).isoformat()] == 1


def test_auto_confirm_per_type(sched, make_claim):
    sched.set("scheduling.auto_confirm_dropoff", True)
    r = _book(sched.api, sched.claim.id, TUE_0900)
    assert r.status_code == 201 and r.get_json()["status"] == "confirmed"


def test_last_unit_taken_answers_slot_taken_with_fresh_alternatives(sched, make_claim):
    claims = [make_claim(sched.shop, number=f"RO-2{i:03d}") for i in range(3)]
    assert _book(sched.api, claims[0].id, TUE_0900).status_code == 201
    assert _book(sched.api, claims[1].id, TUE_0900).status_code == 201  # capacity 2
    r = _book(sched.api, claims[2].id, TUE_0900)
    assert r.status_code == 409
    body = r.get_json()
    assert body["code"] == "scheduling_slot_taken" and body["alternatives"]
    assert datetime.fromisoformat(TUE_0900).isoformat() not in {a["start"] for a in body["alternatives"]}
    assert _count(sched.api, claims[2].id) == 0


def test_overlapping_bookings_of_different_lengths_share_a_pool(sched, make_claim):
    for key, minutes in (("short_look", 30), ("full_teardown", 90)):
        r = sched.api.put(f"{API}/types/{key}", json={"name": key, "kind": "inspection", "duration_minutes": minutes,
                                                      "capacity": 1, "step_minutes": 30, "resource": "estimator"})
        assert r.status_code == 200, r.get_json()
    other = make_claim(sched.shop, number="RO-3001")
    assert _book(sched.api, sched.claim.id, TUE_0900, "full_teardown").status_code == 201  # 09:00-10:30
    r = _book(sched.api, other.id, utc(2026, 3, 3, 15, 0), "short_look")  # 10:00: inside the 90 minutes
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_slot_taken"
    assert _book(sched.api, other.id, utc(2026, 3, 3, 15, 30), "short_look").status_code == 201  # 10:30


def test_buffers_block_the_time_around(sched, make_claim):
    other = make_claim(sched.shop, number="RO-3002")
    assert _book(sched.api, sched.claim.id, TUE_0900, "inspection").status_code == 201  # 30 min + 15 after
    r = _book(sched.api, other.id, utc(2026, 3, 3, 14, 30), "inspection")  # 09:30 is in the buffer
    assert r.status_code == 409
    starts = [s["local"][11:16] for s in sched.api.get(f"{API}/availability", query_string={
        "type": "inspection", "start": "2026-03-03", "end": "2026-03-03"}).get_json()]
    assert "09:00" not in starts and "09:30" not in starts and "10:00" in starts


def test_reservation_holds_the_slot_until_it_expires(sched, make_claim, travel):
    other = make_claim(sched.shop, number="RO-3003")
    r = sched.api.post(f"{API}/reservations", json={"claim_id": sched.claim.id, "type": "inspection",
                                                    "start": TUE_0900})
    assert r.status_code == 201, r.get_json()
    res = r.get_json()
    assert datetime.fromisoformat(res["expires_at"]) == NOW + timedelta(minutes=10)
    assert _book(sched.api, other.id, TUE_0900, "inspection").status_code == 409
    r = _book(sched.api, sched.claim.id, TUE_0900, "inspection", reservation_id=res["id"])
    assert r.status_code == 201, r.get_json()
    # a second hold that runs out frees its slot for someone else
    r = sched.api.post(f"{API}/reservations", json={"claim_id": sched.claim.id, "type": "dropoff",
                                                    "start": TUE_0900})
    assert r.status_code == 201, r.get_json()
    second = r.get_json()
    third = make_claim(sched.shop, number="RO-3004")
    assert _book(sched.api, other.id, TUE_0900).status_code == 201  # the second drop-off unit
    assert _book(sched.api, third.id, TUE_0900).status_code == 409
    travel(NOW + timedelta(minutes=11))
    assert _book(sched.api, third.id, TUE_0900).status_code == 201
    r = sched.api.post(f"{API}/appointments", json={"claim_id": sched.claim.id, "type": "dropoff",
                                                    "start": TUE_0900, "reservation_id": second["id"]})
    assert r.status_code == 410 and r.get_json()["code"] == "scheduling_reservation_expired"


def test_move_bumps_sequence_and_frees_the_old_time_cancel_frees_it_too(sched, make_claim):
    other = make_claim(sched.shop, number="RO-3005")
    appt = _book(sched.api, sched.claim.id, TUE_0900, "inspection").get_json()
    r = sched.api.patch(f"{API}/appointments/{appt['id']}", json={"start": utc(2026, 3, 3, 16, 0)})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["sequence"] == 1 and r.get_json()["start"].startswith("2026-03-03T16:00")
    assert _book(sched.api, other.id, TUE_0900, "inspection").status_code == 201
    r = sched.api.patch(f"{API}/appointments/{appt['id']}", json={"start": TUE_0900})  # now taken
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_slot_taken"
    assert sched.api.get(f"{API}/appointments/{appt['id']}").get_json()["start"].startswith("2026-03-03T16:00")
    r = sched.api.delete(f"{API}/appointments/{appt['id']}")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled" and r.get_json()["sequence"] == 2
    third = make_claim(sched.shop, number="RO-3006")
    assert _book(sched.api, third.id, utc(2026, 3, 3, 16, 0), "inspection").status_code == 201
    r = sched.api.patch(f"{API}/appointments/{appt['id']}", json={"status": "confirmed"})
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_invalid_state"


BAD = [
    ("slot in the past", "dropoff", utc(2026, 3, 2, 13, 0), 422, "scheduling_slot_in_past"),
    ("inside lead time", "dropoff", utc(2026, 3, 2, 17, 0), 422, "scheduling_inside_lead_time"),
    ("beyond horizon", "dropoff", utc(2026, 4, 14, 14, 0), 422, "scheduling_beyond_horizon"),
    ("outside hours", "dropoff", utc(2026, 3, 3, 23, 0), 422, "scheduling_outside_hours"),
    ("off the grid", "inspection", utc(2026, 3, 3, 14, 10), 422, "scheduling_outside_hours"),
    ("closed day", "dropoff", utc(2026, 3, 7, 15, 0), 422, "scheduling_closed"),
    ("unknown type", "teleport", TUE_0900, 404, "scheduling_unknown_type"),
    ("pickup before ready", "pickup", TUE_0900, 409, "scheduling_pickup_not_ready"),
    ("no offset", "dropoff", "2026-03-03T09:00", 422, "scheduling_invalid_time"),
    ("not a time", "dropoff", "next tuesday", 422, "scheduling_invalid_time"),
]


@pytest.mark.parametrize(("case", "type_", "start", "status", "code"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_nothing_is_booked(sched, case, type_, start, status, code):
    r = _book(sched.api, sched.claim.id, start, type_)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == code and r.get_json()["message"]
    assert _count(sched.api, sched.claim.id) == 0


def test_over_daily_intake_capacity(sched, make_claim):
    sched.set("scheduling.intake_capacity", 1)
    assert _book(sched.api, sched.claim.id, TUE_0900).status_code == 201
    other = make_claim(sched.shop, number="RO-3007")
    r = _book(sched.api, other.id, utc(2026, 3, 3, 16, 0))
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_day_full"
    assert _count(sched.api, other.id) == 0
    slots = sched.api.get(f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-03",
                                                                "end": "2026-03-04"}).get_json()
    assert slots and all(s["local"].startswith("2026-03-04") for s in slots)  # the full day is not offered
    assert _book(sched.api, other.id, utc(2026, 3, 4, 16, 0)).status_code == 201


def test_holidays_and_shop_closures_are_closed(sched, app):
    from bayline.events import commit
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    sched.set("scheduling.holiday_country", "US")
    with in_tenant(app, sched.shop.id) as session:
        session.get(Shop, sched.shop.id).closures = [{"date": "2026-03-05", "label": "Stocktake"}]
        commit(session)
    r = _book(sched.api, sched.claim.id, utc(2026, 3, 5, 15, 0))
    assert r.status_code == 422 and r.get_json()["code"] == "scheduling_closed"
    memorial = sched.api.get(f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-05",
                                                                   "end": "2026-03-05"}).get_json()
    assert memorial == []


def test_another_shops_claim_and_appointment_are_not_found(sched, make_shop, make_claim, api_client):
    other_shop = make_shop(plan="starter", timezone="America/New_York")
    other_claim = make_claim(other_shop, number="RO-9001")
    r = _book(sched.api, other_claim.id, TUE_0900)
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    theirs = api_client(other_shop)
    appt = _book(theirs, other_claim.id, TUE_0900)
    assert appt.status_code == 201, appt.get_json()
    for method in ("get", "patch", "delete"):
        r = getattr(sched.api, method)(f"{API}/appointments/{appt.get_json()['id']}", json={"status": "confirmed"}
                                       if method == "patch" else None)
        assert r.status_code == 404, (method, r.get_json())
    assert theirs.get(f"{API}/appointments/{appt.get_json()['id']}").get_json()["status"] == "pending"


def test_bad_type_definition_is_refused(sched):
    r = sched.api.put(f"{API}/types/Bad-Key", json={"name": "x", "duration_minutes": 30})
    assert r.status_code == 422
    r = sched.api.put(f"{API}/types/ok_key", json={"name": "x", "duration_minutes": 0})
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_pickup_is_offered_only_once_ready(sched, move_to_ready):
    r = sched.api.get(f"{API}/availability", query_string={"type": "pickup", "claim_id": sched.claim.id})
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_pickup_not_ready"
    move_to_ready(sched.claim)
    assert _book(sched.api, sched.claim.id, TUE_0900, "pickup").status_code == 201


def test_times_are_utc_in_the_database(sched, app):
    from bayline_scheduling.models import SchedulingAppointment

    from bayline.testing.plugin import in_tenant

    assert _book(sched.api, sched.claim.id, TUE_0900).status_code == 201
    with in_tenant(app, sched.shop.id) as session:
        appt = session.query(SchedulingAppointment).one()
        assert appt.starts_at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def test_availability_of_every_type_at_once(sched, move_to_ready):
    r = sched.api.get(f"{API}/availability", query_string={"start": "2026-03-03", "end": "2026-03-03",
                                                             "claim_id": sched.claim.id})
    assert r.status_code == 200, r.get_json()
    kinds = {s["type"] for s in r.get_json()}
    assert kinds == {"inspection", "dropoff"}  # pickup only once the claim is ready
    move_to_ready(sched.claim)
    r = sched.api.get(f"{API}/availability", query_string={"start": "2026-03-03", "end": "2026-03-03"})
    assert {s["type"] for s in r.get_json()} == {"inspection", "dropoff", "pickup"}
    r = sched.api.get(f"{API}/availability", query_string={"type": "teleport"})
    assert r.status_code == 404 and r.get_json()["code"] == "scheduling_unknown_type"


def test_daily_intake_in_labour_hours(sched, make_claim):
    """The shop counts labour hours: 16 a day, a drop-off counts its own hours (default 8)."""
    sched.set("scheduling.intake_measure", "hours")
    sched.set("scheduling.intake_capacity", 16)
    claims = [make_claim(sched.shop, number=f"RO-5{i:03d}") for i in range(4)]
    r = _book(sched.api, claims[0].id, TUE_0900, labour_hours=10)
    assert r.status_code == 201 and r.get_json()["labour_hours"] == 10
    r = _book(sched.api, claims[1].id, utc(2026, 3, 3, 15, 0))  # the default 8: 18 > 16
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_day_full"
    assert _count(sched.api, claims[1].id) == 0
    # the default-sized drop-off is not offered that day any more; a small job still fits
    slots = sched.api.get(f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-03",
                                                                "end": "2026-03-04"}).get_json()
    assert slots and all(s["local"].startswith("2026-03-04") for s in slots)
    r = _book(sched.api, claims[1].id, utc(2026, 3, 3, 15, 0), labour_hours=6)
    assert r.status_code == 201, r.get_json()
    r = _book(sched.api, claims[2].id, utc(2026, 3, 3, 16, 0), labour_hours=1)  # 17 > 16
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_day_full"
    # moving the 10-hour job within its day keeps its hours (not counted twice); to Wednesday frees them
    big = next(a for a in sched.api.get(f"{API}/appointments", query_string={"start": utc(2026, 3, 3),
                                                                            "end": utc(2026, 3, 4)}).get_json()
               if a["labour_hours"] == 10)
    r = sched.api.patch(f"{API}/appointments/{big['id']}", json={"start": utc(2026, 3, 3, 19, 0)})
    assert r.status_code == 200, r.get_json()
    r = sched.api.patch(f"{API}/appointments/{big['id']}", json={"start": utc(2026, 3, 4, 14, 0)})
    assert r.status_code == 200 and r.get_json()["labour_hours"] == 10
    assert _book(sched.api, claims[2].id, utc(2026, 3, 3, 16, 0)).status_code == 201  # 6 + 8 = 14
    r = _book(sched.api, claims[3].id, utc(2026, 3, 4, 15, 0))  # Wednesday: 10 + 8 > 16
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_day_full"
    r = _book(sched.api, claims[3].id, utc(2026, 3, 4, 15, 0), labour_hours=0)
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_a_reservation_of_the_last_intake_can_be_booked(sched, make_claim):
    sched.set("scheduling.intake_capacity", 1)
    r = sched.api.post(f"{API}/reservations", json={"claim_id": sched.claim.id, "type": "dropoff",
                                                    "start": TUE_0900})
    assert r.status_code == 201, r.get_json()
    other = make_claim(sched.shop, number="RO-5100")
    assert _book(sched.api, other.id, utc(2026, 3, 3, 16, 0)).status_code == 409  # the hold takes the day
    r = _book(sched.api, sched.claim.id, TUE_0900, reservation_id=r.get_json()["id"])
    assert r.status_code == 201, r.get_json()  # its own hold is not counted against it
