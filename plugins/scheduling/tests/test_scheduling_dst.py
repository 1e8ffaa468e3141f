"""Acceptance (property, hypothesis): across both 2026 DST transitions in America/New_York and
Europe/London no offered slot starts in the skipped hour, none is offered twice in the repeated hour,
and every ICS DTSTART equals the local time shown to the customer."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bayline_scheduling import calendar, engine
from hypothesis import given, settings
from hypothesis import strategies as st

TRANSITIONS = {"America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
               "Europe/London": (date(2026, 3, 29), date(2026, 10, 25))}


def _spec(step: int, duration: int, opens: int, closes: int) -> engine.TypeSpec:
    hours = tuple((d, time(opens), time(closes - 1, 59) if closes == 24 else time(closes)) for d in range(7))
    return engine.TypeSpec(key="dropoff", name="Drop-off", kind="dropoff", duration=duration, capacity=1,
                           step=step, hours=hours)


@settings(max_examples=80, deadline=None)
@given(zone_name=st.sampled_from(sorted(TRANSITIONS)), which=st.sampled_from((0, 1)), shift=st.integers(-1, 1),
       step=st.sampled_from((15, 20, 30, 60)), duration=st.sampled_from((15, 30, 45, 60, 90)),
       opens=st.integers(0, 3), closes=st.integers(4, 24))
def test_slots_across_dst(zone_name, which, shift, step, duration, opens, closes):
    zone = ZoneInfo(zone_name)
    day = TRANSITIONS[zone_name][which] + timedelta(days=shift)
    spec = _spec(step, duration, opens, closes)
    rules = engine.Rules(zone=zone, now=datetime(2026, 1, 1, tzinfo=UTC), lead=timedelta(0),
                         horizon=timedelta(days=400))
    slots = engine.slots(spec, rules, day, day, held=set())
    starts = [s.start for s in slots]
    assert len(starts) == len(set(starts)), "a UTC instant offered twice"
    walls = [s.local.replace(tzinfo=None) for s in slots]
    assert len(walls) == len(set(walls)), "a wall time offered twice (the repeated hour)"
    for s in slots:
        wall = s.local.replace(tzinfo=None)
        assert engine.exists(wall, zone), f"{wall} is in the skipped hour"
        assert s.start.astimezone(zone).replace(tzinfo=None) == wall  # what is shown is when it starts
        assert s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0)
        assert s.end - s.start == timedelta(minutes=duration)  # real elapsed time
    near = [s for s in slots if s.local.hour < 4][:6]  # the transition hours (ICS building is slow)
    for s in near or slots[:1]:
        wall = s.local.replace(tzinfo=None)
        appt = SimpleNamespace(uid="u@test", updated_at=s.start, starts_at=s.start, ends_at=s.end, sequence=0,
                               status="confirmed", type_key="dropoff")
        ics = calendar.appointment_ics(appt, None, SimpleNamespace(name="Shop", address=""), "Drop-off", zone,
                                       method="REQUEST")
        [event] = calendar.parse_events(ics)
        assert event["dtstart_raw"] == wall.strftime("%Y%m%dT%H%M%S")
        assert f"DTSTART;TZID={zone_name}:{wall.strftime('%Y%m%dT%H%M%S')}" in ics.decode()
        assert event["start"].timestamp() == s.start.timestamp()  # the first occurrence, as RFC 5545 says


def test_the_gap_and_the_repeat_by_example():
    ny = ZoneInfo("America/New_York")
    spec = _spec(30, 30, 0, 24)
    rules = engine.Rules(zone=ny, now=datetime(2026, 1, 1, tzinfo=UTC), lead=timedelta(0),
                         horizon=timedelta(days=400))
    spring = [s.local.strftime("%H:%M") for s in engine.slots(spec, rules, date(2026, 3, 8), date(2026, 3, 8), set())]
    assert "01:30" in spring and "02:00" not in spring and "02:30" not in spring and "03:00" in spring
    fall = engine.slots(spec, rules, date(2026, 11, 1), date(2026, 11, 1), set())
    labels = [s.local.strftime("%H:%M") for s in fall]
    assert labels.count("01:00") == 1 and labels.count("01:30") == 1
    one = next(s for s in fall if s.local.strftime("%H:%M") == "01:00")
    assert one.start == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # the first 01:00 (EDT)
    # a 60-minute slot from 01:30 (EDT) lasts one real hour, ending at 01:30 EST
    long = engine.slots(_spec(30, 60, 0, 24), rules, date(2026, 11, 1), date(2026, 11, 1), set())
    s130 = next(s for s in long if s.local.strftime("%H:%M") == "01:30")
    assert s130.end - s130.start == timedelta(hours=1)


def test_days_and_hours_parse():
    assert engine.parse_days("Mon–Fri") == [0, 1, 2, 3, 4]
    assert engine.parse_days("Fri-Mon") == [0, 4, 5, 6]
    assert engine.parse_days("Sat") == [5]
    assert engine.parse_hours([{"days": "Mon", "open": "08:00", "close": "12:00"},
                               {"days": "Mon", "closed": True}]) == ()
    assert engine.parse_hours([{"days": "Tue", "open": "9:00", "close": "08:00"}]) == ()
