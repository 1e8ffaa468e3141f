"""Acceptance: 20 parallel bookings for the last free unit of a slot → exactly one succeeds, the others
get "slot just taken" with fresh alternatives; the same for overlapping bookings of different lengths.
The database decides (unit cells unique; on PostgreSQL also EXCLUDE USING gist): shown by writing an
overlapping appointment past the service, which PostgreSQL refuses. Runs on PostgreSQL and, through the
serialised path, on SQLite."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from bayline_scheduling.testing import utc

from bayline.testing.plugin import in_tenant

API = "/api/v1/plugins/scheduling"
TUE_0900 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def _race(app, shop_id, jobs):
    """Run ``jobs`` ([(claim_id, type, start)]) at once, each in its own thread, app context and
    database connection; returns [(claim_id, appointment_id | None, code | None, alternatives)]."""
    from bayline_scheduling import service

    from bayline.plugin_api import Claim, Refused, for_shop, get_session

    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def run(claim_id, type_key, start):
        try:
            # all start together; no connection is held while waiting (the pool is smaller than 20)
            barrier.wait(timeout=300)
            with app.app_context(), for_shop(shop_id):
                session = get_session()
                claim = session.get(Claim, claim_id)
                try:
                    appt = service.book(claim, type_key, start, source="api")
                    results.append((claim_id, appt.id, None, None))
                except Refused as refused:
                    session.rollback()
                    results.append((claim_id, None, refused.code, getattr(refused, "alternatives", None)))
        except BaseException as exc:
            errors.append((claim_id, repr(exc)))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def _claims(make_claim, shop, n, prefix):
    return [make_claim(shop, number=f"{prefix}-{i:03d}").id for i in range(n)]


def test_twenty_parallel_bookings_for_the_last_unit(app, sched, make_claim):
    first = make_claim(sched.shop, number="RO-0000")
    assert sched.api.post(f"{API}/appointments", json={"claim_id": first.id, "type": "dropoff",
                                                       "start": TUE_0900.isoformat()}).status_code == 201
    ids = _claims(make_claim, sched.shop, 20, "RACE")
    results = _race(app, sched.shop.id, [(cid, "dropoff", TUE_0900) for cid in ids])
    won = [r for r in results if r[1] is not None]
    lost = [r for r in results if r[1] is None]
    assert len(won) == 1, results
    assert len(lost) == 19 and {r[2] for r in lost} == {"scheduling_slot_taken"}
    for _, _, _, alternatives in lost:
        assert alternatives and TUE_0900.isoformat() not in {a["start"] for a in alternatives}
    slots = sched.api.get(f"{API}/availability", query_string={"type": "dropoff", "start": "2026-03-03",
                                                                "end": "2026-03-03"}).get_json()
    assert TUE_0900.isoformat() not in {s["start"] for s in slots}
    rows = sched.api.get(f"{API}/appointments", query_string={"start": utc(2026, 3, 3), "end": utc(2026, 3, 4)})
    assert len(rows.get_json()) == 2


def test_parallel_overlapping_bookings_of_different_lengths(app, sched, make_claim):
    for key, minutes in (("short_look", 30), ("full_teardown", 90)):
        assert sched.api.put(f"{API}/types/{key}", json={
            "name": key, "kind": "inspection", "duration_minutes": minutes, "capacity": 1, "step_minutes": 30,
            "resource": "estimator"}).status_code == 200
    ids = _claims(make_claim, sched.shop, 20, "OVL")
    # 09:00-10:30, 09:30-11:00 (90 minutes) and 10:00-10:30 (30 minutes): every pair overlaps
    choices = [("full_teardown", TUE_0900), ("full_teardown", TUE_0900 + timedelta(minutes=30)),
               ("short_look", TUE_0900 + timedelta(minutes=60))]
    jobs = [(cid, *choices[i % 3]) for i, cid in enumerate(ids)]
    results = _race(app, sched.shop.id, jobs)
    won = [r for r in results if r[1] is not None]
    assert len(won) == 1, results
    assert {r[2] for r in results if r[1] is None} == {"scheduling_slot_taken"}
    assert all(r[3] for r in results if r[1] is None)


def test_the_database_itself_refuses_an_overlap_written_past_the_service(app, sched, db_backend):
    """Unit cells are unique on both databases; on PostgreSQL the gist exclusion also refuses an
    overlapping appointment row even without cells."""
    from bayline_scheduling.models import SchedulingAppointment, SchedulingUnit
    from sqlalchemy.exc import IntegrityError

    def appt(start, uid):
        return SchedulingAppointment(claim_id=sched.claim.id, type_key="dropoff", kind="dropoff", resource="dropoff",
                                     unit=0, starts_at=start, ends_at=start + timedelta(minutes=30),
                                     block_start=start, block_end=start + timedelta(minutes=30), status="pending",
                                     source="api", uid=uid, sequence=0)

    with in_tenant(app, sched.shop.id) as session:
        session.add(SchedulingUnit(resource="dropoff", unit=0, cell=TUE_0900))
        session.commit()
        session.add(SchedulingUnit(resource="dropoff", unit=0, cell=TUE_0900))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        if db_backend != "postgres":
            return
        session.add(appt(TUE_0900, "a@test"))
        session.commit()
        session.add(appt(TUE_0900 + timedelta(minutes=15), "b@test"))
        with pytest.raises(IntegrityError, match="xc_scheduling_appointments_no_overlap"):
            session.commit()


def test_parallel_drop_offs_never_overfill_the_day(app, sched, make_claim):
    """20 drop-offs at 20 different times of one day, at once, against a daily intake of 16 labour
    hours (8 each): exactly two get in, the others are told the day is full."""
    sched.set("scheduling.intake_measure", "hours")
    sched.set("scheduling.intake_capacity", 16)
    ids = _claims(make_claim, sched.shop, 20, "DAY")
    jobs = [(cid, "dropoff", TUE_0900 + timedelta(minutes=15 * i)) for i, cid in enumerate(ids)]
    results = _race(app, sched.shop.id, jobs)
    won = [r for r in results if r[1] is not None]
    assert len(won) == 2, results
    assert {r[2] for r in results if r[1] is None} == {"scheduling_day_full"}
    with in_tenant(app, sched.shop.id) as session:
        from bayline_scheduling.models import SchedulingUnit
        from sqlalchemy import select

        cells = session.scalars(select(SchedulingUnit).where(SchedulingUnit.resource == "intake")).all()
        assert len(cells) == 16 and len({c.unit for c in cells}) == 16
