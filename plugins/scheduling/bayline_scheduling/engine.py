"""The availability engine: pure functions, no database.

Everything is computed in the location's zone (``zoneinfo``) and returned in UTC. A slot is a wall
clock time on the type's weekly grid; a wall time that does not exist (the spring-forward gap) is never
offered, and a wall time that happens twice (the fall-back hour) is offered once, at its first
occurrence (``fold=0``). Durations are real elapsed time, so a slot across a transition ends at the
right instant.

Capacity: a booking holds, on one capacity unit, every 15-minute cell (UTC-aligned) of its blocked time
(the slot widened by the type's buffers). A slot is free while some unit has none of those cells held
and no busy period (CalDAV) overlaps it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CELL = timedelta(minutes=15)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INTAKE = "intake"
"""The resource whose units are the day's drop-off intake: one unit per car, or per labour hour (shop
setting), each holding one cell per shop-local day."""


@dataclass(frozen=True)
class TypeSpec:
    """An appointment type as the engine needs it (minutes everywhere)."""

    key: str
    name: str
    kind: str
    duration: int
    capacity: int = 1
    buffer_before: int = 0
    buffer_after: int = 0
    step: int = 30
    hours: tuple[tuple[int, time, time], ...] = ()
    """(weekday 0=Mon, open, close) windows; empty: closed every day."""
    pool: str = ""
    """The capacity pool (resource) it books; empty: its own key."""

    @property
    def resource(self) -> str:
        return self.pool or self.key


@dataclass(frozen=True)
class Rules:
    """The shop-wide rules that bound what is offered."""

    zone: ZoneInfo
    now: datetime
    lead: timedelta
    horizon: timedelta
    closed_days: frozenset[date] = frozenset()
    intake_capacity: int = 0
    """Intake units per shop-local day: cars, or labour hours (0: no limit)."""


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    local: datetime
    free_units: tuple[int, ...] = field(default=())

    @property
    def local_label(self) -> str:
        return self.local.strftime("%a %d %b %Y, %H:%M")


def _day_index(name: str) -> int | None:
    name = name.strip()[:3].title()
    return WEEKDAYS.index(name) if name in WEEKDAYS else None


def parse_days(text: str) -> list[int]:
    """``"Mon"``, ``"Mon–Fri"``, ``"Mon-Fri"``, ``"Mon, Wed"`` → weekday numbers (unknown: [])."""
    out: list[int] = []
    for part in re.split(r"[,/]", text or ""):
        bounds = re.split(r"\s*[-–—]\s*|\s+to\s+", part.strip())
        if len(bounds) == 2:
            a, b = _day_index(bounds[0]), _day_index(bounds[1])
            if a is None or b is None:
                continue
            i = a
            while True:
                out.append(i)
                if i == b:
                    break
                i = (i + 1) % 7
        elif bounds and bounds[0]:
            i = _day_index(bounds[0])
            if i is not None:
                out.append(i)
    return sorted(set(out))


def _hhmm(text: str) -> time | None:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text or ""))
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if h == 24 and mi == 0:
        return time(23, 59)
    if h > 23 or mi > 59:
        return None
    return time(h, mi)


def parse_hours(rows: Iterable[dict] | None) -> tuple[tuple[int, time, time], ...]:
    """``Shop.hours``-style rows → windows; a weekday with a ``closed`` row has none."""
    windows: list[tuple[int, time, time]] = []
    closed: set[int] = set()
    for row in rows or []:
        days = parse_days(str(row.get("days") or ""))
        if row.get("closed"):
            closed.update(days)
            continue
        start, end = _hhmm(row.get("open")), _hhmm(row.get("close"))
        if start is None or end is None or end <= start:
            continue
        windows.extend((d, start, end) for d in days)
    return tuple(sorted(w for w in windows if w[0] not in closed))


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Does this wall time exist in ``zone`` (False inside a spring-forward gap)?"""
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def candidate_starts(spec: TypeSpec, zone: ZoneInfo, day: date) -> list[tuple[datetime, datetime]]:
    """(UTC start, local start) of every grid slot of ``spec`` on ``day``, before any other rule."""
    out: list[tuple[datetime, datetime]] = []
    seen: set[datetime] = set()
    for weekday, opens, closes in spec.hours:
        if weekday != day.weekday():
            continue
        t = datetime.combine(day, opens)
        last = datetime.combine(day, closes) - timedelta(minutes=spec.duration)
        while t <= last:
            if exists(t, zone):
                local = t.replace(tzinfo=zone, fold=0)
                start = local.astimezone(UTC)
                if start not in seen:
                    seen.add(start)
                    out.append((start, local))
            t += timedelta(minutes=spec.step)
    return sorted(out)


def block(spec: TypeSpec, start: datetime) -> tuple[datetime, datetime]:
    """The blocked time of a booking starting at ``start`` (UTC): the slot widened by the buffers."""
    return (start - timedelta(minutes=spec.buffer_before),
            start + timedelta(minutes=spec.duration + spec.buffer_after))


def cells(begin: datetime, end: datetime) -> list[datetime]:
    """The 15-minute UTC cells ``[begin, end)`` touches."""
    begin = begin.astimezone(UTC)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + ((begin - epoch) // CELL) * CELL
    out = []
    t = first
    while t < end:
        out.append(t)
        t += CELL
    return out


def intake_cell(day: date) -> datetime:
    """The one cell a drop-off holds on the intake resource: the shop-local date, as midnight UTC."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def free_units(spec: TypeSpec, start: datetime, held: set[tuple[int, datetime]],
               busy: Iterable[tuple[datetime, datetime]] = ()) -> tuple[int, ...]:
    """The capacity units on which a booking at ``start`` would fit."""
    b0, b1 = block(spec, start)
    end = start + timedelta(minutes=spec.duration)
    for s, e in busy:
        if s < end and start < e:
            return ()
    wanted = cells(b0, b1)
    return tuple(u for u in range(spec.capacity) if not any((u, c) in held for c in wanted))


def refusal(spec: TypeSpec | None, start: datetime, rules: Rules, intake_used: int = 0,
            intake_needed: int = 1) -> str | None:
    """Why a booking of ``spec`` at ``start`` (UTC) is refused before capacity, as a stable code, or None.
    A drop-off needs ``intake_needed`` intake units (1 car, or its labour hours) of its day."""
    if spec is None:
        return "scheduling_unknown_type"
    if start.tzinfo is None:
        return "scheduling_outside_hours"
    if start <= rules.now:
        return "scheduling_slot_in_past"
    if start < rules.now + rules.lead:
        return "scheduling_inside_lead_time"
    if start > rules.now + rules.horizon:
        return "scheduling_beyond_horizon"
    day = local_day(start, rules.zone)
    if day in rules.closed_days:
        return "scheduling_closed"
    if start.astimezone(UTC) not in {s for s, _ in candidate_starts(spec, rules.zone, day)}:
        return "scheduling_outside_hours"
    if spec.kind == "dropoff" and rules.intake_capacity and intake_used + intake_needed > rules.intake_capacity:
        return "scheduling_day_full"
    return None


def days_between(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def slots(spec: TypeSpec, rules: Rules, first: date, last: date, held: set[tuple[int, datetime]],
          busy: Iterable[tuple[datetime, datetime]] = (), intake_used: dict[date, int] | None = None,
          limit: int | None = None, intake_needed: int = 1) -> list[Slot]:
    """Free slots of ``spec`` from shop-local ``first`` to ``last`` (inclusive) under ``rules``."""
    busy = list(busy)
    intake_used = intake_used or {}
    out: list[Slot] = []
    for day in days_between(first, last):
        for start, local in candidate_starts(spec, rules.zone, day):
            if refusal(spec, start, rules, intake_used.get(day, 0), intake_needed) is not None:
                continue
            units = free_units(spec, start, held, busy)
            if units:
                out.append(Slot(start, start + timedelta(minutes=spec.duration), local, units))
                if limit is not None and len(out) >= limit:
                    return out
    return out
