"""Appointments: availability reads, bookings the database keeps apart, and their lifecycle.

A booking never checks before it inserts: it inserts its unit cells (``scheduling_units``, unique per
tenant/resource/unit/cell) for capacity unit 0, then 1, ... each inside a savepoint, and keeps the first
unit that the database accepts. When none does the slot was just taken: ``Refused(409,
"scheduling_slot_taken")`` with fresh alternatives. A drop-off holds one cell of the day's intake
resource too (the daily intake capacity). On SQLite the same constraint holds; writers are serialised
by SQLite's own write lock (WAL, busy timeout), so the path is the same code.

Every refusal has a stable code (see ``CODES``); nothing is written when one is raised.
"""
from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Refused,
    Stage,
    commit,
    emit,
    get_session,
    outbox,
    prefetched,
    prepare,
    shop_hours,
    shop_settings,
    utcnow,
)

from . import engine
from .engine import TypeSpec
from .models import (
    LIVE,
    SchedulingAppointment,
    SchedulingBusy,
    SchedulingRequest,
    SchedulingReservation,
    SchedulingType,
    SchedulingUnit,
)

NAME = "scheduling"
KINDS = ("inspection", "dropoff", "pickup", "other")
_MON_FRI = [{"days": "Mon–Fri", "open": "08:00", "close": "17:00"}]
DEFAULT_TYPES: dict[str, dict[str, Any]] = {
    "inspection": {"name": "Estimate / inspection", "kind": "inspection", "duration": 30, "capacity": 1,
                   "buffer_before": 0, "buffer_after": 15, "step": 30},
    "dropoff": {"name": "Drop-off", "kind": "dropoff", "duration": 15, "capacity": 2, "buffer_before": 0,
                "buffer_after": 0, "step": 15},
    "pickup": {"name": "Pickup", "kind": "pickup", "duration": 15, "capacity": 2, "buffer_before": 0,
               "buffer_after": 0, "step": 15},
}
CODES = {
    "scheduling_unknown_type": (404, "There is no such appointment type at this shop."),
    "scheduling_slot_in_past": (422, "That time has already passed. Choose a later time."),
    "scheduling_inside_lead_time": (422, "That time is too soon; the shop needs more notice."),
    "scheduling_beyond_horizon": (422, "That time is too far ahead to book yet."),
    "scheduling_closed": (422, "The shop is closed that day."),
    "scheduling_outside_hours": (422, "That time is outside the shop's hours for this appointment."),
    "scheduling_day_full": (409, "The shop takes no more cars that day. Choose another day."),
    "scheduling_pickup_not_ready": (409, "Pickup can be booked once your car is ready."),
    "scheduling_slot_taken": (409, "That slot was just taken. Here are the next free times."),
    "scheduling_already_booked": (409, "There is already an appointment of this kind for this claim."),
    "scheduling_past_cutoff": (409, "It is too late to change this appointment online; please call the shop."),
    "scheduling_invalid_state": (409, "This appointment cannot be changed that way."),
    "scheduling_invalid_time": (422, "Enter the start time as an ISO 8601 date and time with its offset."),
    "scheduling_reservation_expired": (410, "The hold on that slot ran out. Choose a time again."),
}


class SchedulingRefused(Refused):
    """A refusal whose JSON answer also carries ``alternatives`` (fresh free slots) when it has them."""

    def __init__(self, status: int, code: str, message: str, *, errors: dict[str, Any] | None = None,
                 alternatives: list[dict[str, Any]] | None = None) -> None:
        super().__init__(status, code, message, errors=errors)
        self.alternatives = alternatives

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        if self.alternatives is not None:
            data["alternatives"] = self.alternatives
        return data


def refuse(code: str, errors: dict[str, Any] | None = None,
           alternatives: list[dict[str, Any]] | None = None) -> SchedulingRefused:
    status, message = CODES[code]
    return SchedulingRefused(status, code, message, errors=errors, alternatives=alternatives)


def _settings() -> Any:
    return shop_settings(NAME)


def zone(shop: Any) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _shop() -> Any:
    from flask import g

    return g.shop


# -- types --------------------------------------------------------------------------------------


def _spec_from(key: str, base: dict[str, Any], row: SchedulingType | None, shop_rows: list | None) -> TypeSpec:
    pool = row.resource if row is not None and row.resource else ""
    if row is not None:
        base = {"name": row.name, "kind": row.kind, "duration": row.duration_minutes, "capacity": row.capacity,
                "buffer_before": row.buffer_before, "buffer_after": row.buffer_after, "step": row.step_minutes}
    hours = row.hours if row is not None and row.hours is not None else (shop_rows or _MON_FRI)
    return TypeSpec(key=key, name=base["name"], kind=base["kind"], duration=base["duration"],
                    capacity=max(1, base["capacity"]), buffer_before=base["buffer_before"],
                    buffer_after=base["buffer_after"], step=max(5, base["step"]), hours=engine.parse_hours(hours),
                    pool=pool)


def types(shop: Any | None = None) -> list[TypeSpec]:
    """The shop's appointment types: the built-ins (overridden by their row) and its own, active only."""
    found = get_session().scalars(select(SchedulingType)) if shop else prefetched(TYPES, _types_stmt())
    rows = {r.key: r for r in found}
    shop = shop or _shop()
    out = []
    for key, base in DEFAULT_TYPES.items():
        row = rows.pop(key, None)
        if row is None or row.active:
            out.append(_spec_from(key, base, row, shop.hours))
    out += [_spec_from(r.key, {}, r, shop.hours) for r in rows.values() if r.active]
    return out


def get_type(key: str, shop: Any | None = None) -> TypeSpec | None:
    return next((t for t in types(shop) if t.key == key), None)


def auto_confirm(spec: TypeSpec) -> bool:
    key = f"auto_confirm_{spec.kind}"
    try:
        return bool(_settings().get_bool(key))
    except KeyError:
        return False


# -- rules, closures, capacity reads ----------------------------------------------------------


def rules(shop: Any | None = None, now: datetime | None = None) -> engine.Rules:
    shop = shop or _shop()
    s = _settings()
    now = now or utcnow()
    tz = zone(shop)
    horizon = timedelta(days=s.get_int("horizon_days"))
    today = now.astimezone(tz).date()
    closed = {d for d in engine.days_between(today, (now + horizon).astimezone(tz).date() + timedelta(days=1))
              if not shop_hours.is_open_on(shop, d)}
    from .calendar import public_holidays

    closed |= public_holidays(s.get_str("holiday_country"), today.year, today.year + 1)
    return engine.Rules(zone=tz, now=now, lead=timedelta(hours=s.get_int("lead_time_hours")), horizon=horizon,
                        closed_days=frozenset(closed), intake_capacity=s.get_int("intake_capacity"))


def _live_reservations(now: datetime) -> Any:
    return select(SchedulingReservation.id).where(SchedulingReservation.expires_at > now)


def held_cells(resource: str, begin: datetime, end: datetime, now: datetime | None = None,
               ignore_appointment: int | None = None) -> set[tuple[int, datetime]]:
    """(unit, cell) pairs of ``resource`` held between ``begin`` and ``end`` (expired holds left out)."""
    now = now or utcnow()
    stmt = select(SchedulingUnit.unit, SchedulingUnit.cell, SchedulingUnit.appointment_id,
                  SchedulingUnit.reservation_id).where(
        SchedulingUnit.resource == resource, SchedulingUnit.cell >= begin - timedelta(hours=4),
        SchedulingUnit.cell < end + timedelta(hours=4))
    live = set(get_session().scalars(_live_reservations(now)))
    out = set()
    for unit, cell, appt, res in get_session().execute(stmt):
        if appt is not None and appt == ignore_appointment:
            continue
        if appt is None and res is not None and res not in live:
            continue
        out.add((unit, cell.astimezone(UTC)))
    return out


def busy_periods(begin: datetime, end: datetime, resource: str) -> list[tuple[datetime, datetime]]:
    rows = get_session().scalars(select(SchedulingBusy).where(
        SchedulingBusy.starts_at < end, SchedulingBusy.ends_at > begin,
        SchedulingBusy.resource.in_(("*", resource))))
    return [(r.starts_at, r.ends_at) for r in rows]


def busy_rows(begin: datetime, end: datetime) -> list[SchedulingBusy]:
    """The staff calendar's busy periods (last CalDAV sync) overlapping ``begin``..``end``."""
    return list(get_session().scalars(select(SchedulingBusy).where(
        SchedulingBusy.starts_at < end, SchedulingBusy.ends_at > begin).order_by(SchedulingBusy.starts_at)))


def intake_used(first: date, last: date, now: datetime | None = None, ignore_appointment: int | None = None,
                ignore_reservation: int | None = None) -> dict[date, int]:
    """Intake units held per shop-local day (cars or labour hours; expired holds left out)."""
    now = now or utcnow()
    live = set(get_session().scalars(_live_reservations(now)))
    stmt = select(SchedulingUnit.cell, SchedulingUnit.appointment_id, SchedulingUnit.reservation_id).where(
        SchedulingUnit.resource == engine.INTAKE, SchedulingUnit.cell >= engine.intake_cell(first),
        SchedulingUnit.cell <= engine.intake_cell(last))
    out: dict[date, int] = {}
    for cell, appt, res in get_session().execute(stmt):
        if (appt is None and res is not None and (res not in live or res == ignore_reservation)) or (
                appt is not None and appt == ignore_appointment):
            continue
        day = cell.astimezone(UTC).date()
        out[day] = out.get(day, 0) + 1
    return out


def availability(spec: TypeSpec, first: date | None = None, last: date | None = None, limit: int | None = None,
                 shop: Any | None = None, now: datetime | None = None,
                 ignore_appointment: int | None = None, labour_hours: int | None = None) -> list[engine.Slot]:
    """Free slots of ``spec`` from shop-local ``first`` to ``last`` (default: today to the horizon)."""
    r = rules(shop, now)
    today = r.now.astimezone(r.zone).date()
    first = max(first or today, today)
    last = min(last or (r.now + r.horizon).astimezone(r.zone).date(), (r.now + r.horizon).astimezone(r.zone).date())
    if last < first:
        return []
    begin = datetime.combine(first, datetime.min.time(), tzinfo=r.zone).astimezone(UTC) - timedelta(days=1)
    end = datetime.combine(last, datetime.min.time(), tzinfo=r.zone).astimezone(UTC) + timedelta(days=2)
    held = held_cells(spec.resource, begin, end, r.now, ignore_appointment)
    return engine.slots(spec, r, first, last, held, busy_periods(begin, end, spec.resource),
                        intake_used(first, last, r.now, ignore_appointment) if spec.kind == "dropoff" else None,
                        limit, intake_needed(labour_hours) if spec.kind == "dropoff" else 1)


def alternatives(spec: TypeSpec, around: datetime, n: int = 5) -> list[engine.Slot]:
    r = rules()
    day = around.astimezone(r.zone).date() if around.tzinfo else r.now.astimezone(r.zone).date()
    return availability(spec, first=day, limit=n)


# -- the claim's state -------------------------------------------------------------------------


@prepare
def _stages_stmt() -> Any:
    return select(Stage).where(Stage.archived_at.is_(None)).order_by(Stage.position, Stage.id)


@prepare
def _types_stmt() -> Any:
    return select(SchedulingType)


def ready_stage() -> Stage | None:
    stages = prefetched(STAGES, _stages_stmt())
    wanted = _settings().get_str("ready_stage").strip().lower()
    if wanted:
        return next((s for s in stages if s.name.lower() == wanted or s.customer_label.lower() == wanted), None)
    live = [s for s in stages if not s.terminal]
    return live[-1] if live else None


def is_ready(claim: Claim) -> bool:
    stage = ready_stage()
    return stage is not None and claim.stage is not None and claim.stage.position >= stage.position


APPOINTMENTS, TYPES, REQUESTS, STAGES = ("scheduling.appointments", "scheduling.types", "scheduling.requests",
                                         "scheduling.stages")


@prepare
def _appointments_stmt(claim_id: int) -> Any:
    return select(SchedulingAppointment).where(SchedulingAppointment.claim_id == claim_id).order_by(
        SchedulingAppointment.starts_at, SchedulingAppointment.id)


@prepare
def _request_stmt(claim_id: int) -> Any:
    return select(SchedulingRequest).where(SchedulingRequest.claim_id == claim_id)


def want_claim_rows(claim_id: int, bundle: Any, *, staff: bool) -> None:
    """The page bundle's parts (hook prefetch): the claim's appointments, the shop's types and stages
    (and, for staff, the estimate request), read with the page's other rows in one statement."""
    bundle.want(APPOINTMENTS, _appointments_stmt(claim_id))
    bundle.want(TYPES, _types_stmt())
    bundle.want(STAGES, _stages_stmt())
    if staff:
        bundle.want(REQUESTS, _request_stmt(claim_id))


def appointments_for_claim(claim_id: int) -> list[SchedulingAppointment]:
    return [a for a in prefetched(APPOINTMENTS, _appointments_stmt(claim_id)) if a.claim_id == claim_id]


def estimate_request(claim_id: int) -> SchedulingRequest | None:
    """The public estimate request that created the claim, if it came that way."""
    return next((r for r in prefetched(REQUESTS, _request_stmt(claim_id)) if r.claim_id == claim_id), None)


def bookable_types(claim: Claim) -> list[TypeSpec]:
    """What the customer may book now: every type without a live appointment of the claim, pickup only
    once the claim reached the ready stage."""
    if claim.delivered_at is not None or claim.archived_at is not None:
        return []
    taken = {a.type_key for a in appointments_for_claim(claim.id) if a.status in LIVE}
    return [t for t in types() if t.key not in taken and (t.kind != "pickup" or is_ready(claim))]


# -- booking -----------------------------------------------------------------------------------


def parse_start(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise refuse("scheduling_invalid_time", {"start": ["an ISO 8601 time with its offset"]}) from None
    if value.tzinfo is None:
        raise refuse("scheduling_invalid_time", {"start": ["give the UTC offset (e.g. +00:00)"]})
    return value.astimezone(UTC)


def _check(spec: TypeSpec | None, claim: Claim, start: datetime, *, staff: bool = False,
           labour_hours: int | None = None, moving: int | None = None, holding: int | None = None) -> TypeSpec:
    """The rules before capacity (a read: the database decides capacity when the cells go in).
    ``moving``: the appointment being moved, ``holding``: the reservation being booked; their own
    intake is not counted against their day."""
    if spec is None:
        raise refuse("scheduling_unknown_type", {"type": ["no such appointment type"]})
    if spec.kind == "pickup" and not is_ready(claim) and not staff:
        raise refuse("scheduling_pickup_not_ready")
    r = rules()
    used = 0
    if spec.kind == "dropoff":
        day = start.astimezone(r.zone).date()
        used = intake_used(day, day, r.now, ignore_appointment=moving, ignore_reservation=holding).get(day, 0)
    code = engine.refusal(spec, start, r, used, intake_needed(labour_hours))
    if code is not None:
        raise refuse(code, {"start": [CODES[code][1]]})
    if not staff and busy_periods(start, start + timedelta(minutes=spec.duration), spec.resource):
        raise _taken(spec, start)  # the staff calendar (CalDAV) is busy then; staff may still book it
    return spec


def _taken(spec: TypeSpec, start: datetime) -> Refused:
    alts = alternatives(spec, start)
    return refuse("scheduling_slot_taken", alternatives=[slot_json(s) for s in alts])


def _hold(spec: TypeSpec, start: datetime, rows: list[SchedulingUnit], *, appointment_id: int | None = None,
          reservation_id: int | None = None) -> int | None:
    """Insert the unit cells of a booking at ``start`` on the first unit the database accepts; None
    when every unit is taken. Each try is a savepoint: a refused insert leaves nothing behind."""
    session = get_session()
    b0, b1 = engine.block(spec, start)
    wanted = engine.cells(b0, b1)
    now = utcnow()
    # Expired reservations release their cells here, in the same transaction (a DELETE, not a check).
    expired = select(SchedulingReservation.id).where(SchedulingReservation.expires_at <= now)
    session.execute(delete(SchedulingUnit).where(
        SchedulingUnit.resource == spec.resource, SchedulingUnit.cell.in_(wanted),
        SchedulingUnit.appointment_id.is_(None), SchedulingUnit.reservation_id.in_(expired)))
    for unit in range(spec.capacity):
        try:
            with session.begin_nested():
                batch = [SchedulingUnit(resource=spec.resource, unit=unit, cell=c, appointment_id=appointment_id,
                                        reservation_id=reservation_id) for c in wanted]
                session.add_all(batch)
                session.flush()
            rows.extend(batch)
            return unit
        except IntegrityError:
            continue
    return None


def intake_needed(labour_hours: int | None = None) -> int:
    """Intake units a drop-off takes from its day: 1 (the shop counts cars), or its labour hours
    (``labour_hours``, else ``scheduling.dropoff_hours``) when the shop counts labour hours."""
    s = _settings()
    if s.get_str("intake_measure") != "hours":
        return 1
    return max(1, labour_hours or s.get_int("dropoff_hours"))


def _hold_intake(day: date, rows: list[SchedulingUnit], needed: int = 1, *, appointment_id: int | None = None,
                 reservation_id: int | None = None) -> bool:
    """Insert ``needed`` intake cells of ``day`` on distinct units (units the day does not show as
    held first, so a free day takes no failed tries), each in a savepoint; False when the day has
    fewer free units (the caller rolls the partial hold back)."""
    capacity = _settings().get_int("intake_capacity")
    if capacity <= 0:
        return True
    session = get_session()
    cell = engine.intake_cell(day)
    now = utcnow()
    expired = select(SchedulingReservation.id).where(SchedulingReservation.expires_at <= now)
    session.execute(delete(SchedulingUnit).where(
        SchedulingUnit.resource == engine.INTAKE, SchedulingUnit.cell == cell,
        SchedulingUnit.appointment_id.is_(None), SchedulingUnit.reservation_id.in_(expired)))
    held = set(session.scalars(select(SchedulingUnit.unit).where(SchedulingUnit.resource == engine.INTAKE,
                                                                 SchedulingUnit.cell == cell)))
    order = [u for u in range(capacity) if u not in held] + [u for u in range(capacity) if u in held]
    got = 0
    for unit in order:
        try:
            with session.begin_nested():
                row = SchedulingUnit(resource=engine.INTAKE, unit=unit, cell=cell, appointment_id=appointment_id,
                                     reservation_id=reservation_id)
                session.add(row)
                session.flush()
            rows.append(row)
            got += 1
            if got == needed:
                return True
        except IntegrityError:
            continue
    return False


def _place(spec: TypeSpec, start: datetime, labour_hours: int | None = None,
           **owner: Any) -> tuple[int, list[SchedulingUnit]]:
    """Hold the slot (and for a drop-off the day's intake) inside one savepoint, or raise; returns the
    unit and the cell rows inserted."""
    session = get_session()
    r_zone = zone(_shop())
    rows: list[SchedulingUnit] = []
    outer = session.begin_nested()
    unit = _hold(spec, start, rows, **owner)
    if unit is None:
        outer.rollback()
        raise _taken(spec, start)
    if spec.kind == "dropoff" and not _hold_intake(start.astimezone(r_zone).date(), rows,
                                                   intake_needed(labour_hours), **owner):
        outer.rollback()
        raise refuse("scheduling_day_full", {"start": [CODES["scheduling_day_full"][1]]})
    outer.commit()
    return unit, rows


def serialised(op: Any) -> Any:
    """Run a booking write. PostgreSQL: once (its constraints decide). SQLite: writers are serialised
    by the database's single write lock; a transaction that read before another writer committed is
    refused (``database is locked``), so it is rolled back and run again from the start."""
    session = get_session()
    if session.get_bind().dialect.name != "sqlite":
        return op()
    from sqlalchemy.exc import OperationalError

    for _ in range(200):
        try:
            return op()
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            session.rollback()
    raise Refused(503, "scheduling_busy", "The calendar is busy; try again in a moment.")


def new_uid() -> str:
    return f"{secrets.token_hex(12)}@bayline-scheduling"


def book(claim: Claim, type_key: str, start: Any, **kwargs: Any) -> SchedulingAppointment:
    """Book ``claim`` at ``start`` (UTC); confirmed at once when the type's setting says so."""
    claim_id = claim.id
    return serialised(lambda: _book(get_session().get(Claim, claim_id), type_key, start, **kwargs))


def _book(claim: Claim, type_key: str, start: Any, *, source: str = "portal", notes: str | None = None,
          reservation_id: int | None = None, staff: bool = False,
          labour_hours: int | None = None) -> SchedulingAppointment:
    session = get_session()
    start = parse_start(start)
    if reservation_id is not None:
        labour_hours = None  # the hold took the default; the booking keeps what it holds
    spec = _check(get_type(type_key), claim, start, staff=staff, labour_hours=labour_hours, holding=reservation_id)
    if any(a.type_key == spec.key and a.status in LIVE for a in appointments_for_claim(claim.id)):
        raise refuse("scheduling_already_booked")
    now = utcnow()
    b0, b1 = engine.block(spec, start)
    if reservation_id is not None:
        res = session.get(SchedulingReservation, reservation_id)
        if res is None or res.claim_id != claim.id:
            raise Refused(404, "not_found", "No such reservation.")
        if res.expires_at <= now:
            raise refuse("scheduling_reservation_expired")
        if res.type_key != spec.key or res.starts_at.astimezone(UTC) != start:
            raise Refused(422, "scheduling_reservation_mismatch", "The reservation is for another time.")
        unit, rows = res.unit, []
    else:
        unit, rows = _place(spec, start, labour_hours)
    hours = intake_needed(labour_hours) if spec.kind == "dropoff" and _settings().get_str(
        "intake_measure") == "hours" else labour_hours
    appt = SchedulingAppointment(claim_id=claim.id, type_key=spec.key, kind=spec.kind, resource=spec.resource,
                                 unit=unit, starts_at=start, ends_at=start + timedelta(minutes=spec.duration),
                                 block_start=b0, block_end=b1, status="pending", source=source, uid=new_uid(),
                                 sequence=0, notes=(notes or "")[:2000] or None, labour_hours=hours,
                                 created_at=now, updated_at=now)
    session.add(appt)
    session.flush()
    if reservation_id is not None:
        session.execute(update(SchedulingUnit).where(SchedulingUnit.reservation_id == reservation_id)
                        .values(appointment_id=appt.id, reservation_id=None))
        session.execute(delete(SchedulingReservation).where(SchedulingReservation.id == reservation_id))
    for row in rows:
        row.appointment_id = appt.id
    if auto_confirm(spec):
        appt.status, appt.confirmed_at = "confirmed", now
    _changed(appt)
    from . import notify

    notify.booked(appt, claim)
    commit(session)
    return appt


def reserve(claim: Claim, type_key: str, start: Any) -> SchedulingReservation:
    """Hold a slot for ``scheduling.reservation_minutes`` while the customer confirms."""
    claim_id = claim.id
    return serialised(lambda: _reserve(get_session().get(Claim, claim_id), type_key, start))


def _reserve(claim: Claim, type_key: str, start: Any) -> SchedulingReservation:
    session = get_session()
    start = parse_start(start)
    spec = _check(get_type(type_key), claim, start)
    now = utcnow()
    res = SchedulingReservation(claim_id=claim.id, type_key=spec.key, resource=spec.resource, unit=-1,
                                starts_at=start, ends_at=start + timedelta(minutes=spec.duration),
                                expires_at=now + timedelta(minutes=_settings().get_int("reservation_minutes")),
                                created_at=now)
    session.add(res)
    session.flush()
    res.unit, _ = _place(spec, start, reservation_id=res.id)
    commit(session)
    return res


def release(res: SchedulingReservation) -> None:
    session = get_session()
    session.delete(res)
    commit(session)


def purge_expired(now: datetime | None = None) -> int:
    now = now or utcnow()
    session = get_session()
    n = session.execute(delete(SchedulingReservation).where(SchedulingReservation.expires_at <= now)).rowcount
    return n or 0


# -- lifecycle ---------------------------------------------------------------------------------


def _changed(appt: SchedulingAppointment) -> None:
    emit("scheduling.appointment_changed", appt.tenant_id or _shop().id,
         {"appointment_id": appt.id, "claim_id": appt.claim_id, "status": appt.status})


def _release_cells(appt: SchedulingAppointment) -> None:
    get_session().execute(delete(SchedulingUnit).where(SchedulingUnit.appointment_id == appt.id))


def _within_cutoff(appt: SchedulingAppointment) -> bool:
    return utcnow() > appt.starts_at - timedelta(hours=_settings().get_int("cutoff_hours"))


def confirm(appt: SchedulingAppointment) -> SchedulingAppointment:
    if appt.status != "pending":
        raise refuse("scheduling_invalid_state")
    appt.status, appt.confirmed_at, appt.updated_at = "confirmed", utcnow(), utcnow()
    appt.sequence += 1
    _changed(appt)
    from . import notify

    notify.confirmed(appt, get_session().get(Claim, appt.claim_id))
    commit(get_session())
    return appt


def decline(appt: SchedulingAppointment) -> SchedulingAppointment:
    return _end(appt, "declined")


def cancel(appt: SchedulingAppointment, *, by_customer: bool = False) -> SchedulingAppointment:
    if by_customer and _within_cutoff(appt):
        raise refuse("scheduling_past_cutoff")
    return _end(appt, "cancelled")


def _end(appt: SchedulingAppointment, status: str) -> SchedulingAppointment:
    if appt.status not in LIVE:
        raise refuse("scheduling_invalid_state")
    now = utcnow()
    appt.status, appt.cancelled_at, appt.updated_at = status, now, now
    appt.sequence += 1
    _release_cells(appt)
    _changed(appt)
    from . import notify

    notify.ended(appt, get_session().get(Claim, appt.claim_id))
    commit(get_session())
    return appt


def reschedule(appt: SchedulingAppointment, start: Any, *, by_customer: bool = False) -> SchedulingAppointment:
    """Move ``appt`` to ``start``: its old cells are given up and the new ones taken in one savepoint
    (a refused move keeps the old time)."""
    appt_id = appt.id
    return serialised(lambda: _reschedule(get_session().get(SchedulingAppointment, appt_id), start,
                                          by_customer=by_customer))


def _reschedule(appt: SchedulingAppointment, start: Any, *, by_customer: bool = False) -> SchedulingAppointment:
    session = get_session()
    if appt.status not in LIVE:
        raise refuse("scheduling_invalid_state")
    if by_customer and _within_cutoff(appt):
        raise refuse("scheduling_past_cutoff")
    start = parse_start(start)
    claim = session.get(Claim, appt.claim_id)
    spec = _check(get_type(appt.type_key), claim, start, staff=not by_customer, labour_hours=appt.labour_hours,
                  moving=appt.id)
    outer = session.begin_nested()
    _release_cells(appt)
    session.flush()
    try:
        unit, _ = _place(spec, start, appt.labour_hours, appointment_id=appt.id)
    except Refused:
        outer.rollback()
        raise
    outer.commit()
    b0, b1 = engine.block(spec, start)
    appt.unit, appt.starts_at, appt.ends_at = unit, start, start + timedelta(minutes=spec.duration)
    appt.block_start, appt.block_end, appt.updated_at = b0, b1, utcnow()
    appt.sequence += 1
    if by_customer and not auto_confirm(spec):
        appt.status, appt.confirmed_at = "pending", None
    _changed(appt)
    from . import notify

    notify.moved(appt, claim)
    commit(session)
    return appt


def on_stage_changed(claim_id: int, event_id: str | None = None) -> None:
    """The claim reached the ready stage: invite the customer to book pickup (once per claim), unless
    the shop's own text for this stage change already carries the portal link, where the customer
    books pickup: one text for one change."""
    session = get_session()
    claim = session.get(Claim, claim_id)
    if claim is None or not is_ready(claim) or claim.delivered_at is not None:
        return
    if any(a.kind == "pickup" and a.status in LIVE for a in appointments_for_claim(claim_id)):
        return
    if event_id and any(item.state not in ("failed", "cancelled") and outbox.carries_portal_link(item)
                        for item in outbox.for_event(event_id, claim)):
        return
    from . import notify

    notify.pickup_invite(claim)
    commit(session)


# -- reads for the calendar and the board ------------------------------------------------------


def between(begin: datetime, end: datetime, type_key: str | None = None,
            statuses: tuple[str, ...] = LIVE) -> list[SchedulingAppointment]:
    stmt = select(SchedulingAppointment).where(SchedulingAppointment.starts_at >= begin,
                                               SchedulingAppointment.starts_at < end,
                                               SchedulingAppointment.status.in_(statuses))
    if type_key:
        stmt = stmt.where(SchedulingAppointment.type_key == type_key)
    return list(get_session().scalars(stmt.order_by(SchedulingAppointment.starts_at)))


def day_bounds(day: date, tz: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    begin = datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=days), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    return begin, end


def today_on_board() -> dict[str, Any]:
    shop = _shop()
    tz = zone(shop)
    today = utcnow().astimezone(tz).date()
    begin, end = day_bounds(today, tz)
    found = get_session().execute(
        select(SchedulingAppointment, Claim).join(Claim, Claim.id == SchedulingAppointment.claim_id).where(
            SchedulingAppointment.starts_at >= begin, SchedulingAppointment.starts_at < end,
            SchedulingAppointment.status.in_(LIVE), SchedulingAppointment.kind.in_(("dropoff", "pickup")))
        .order_by(SchedulingAppointment.starts_at)).all()  # one statement: the board's budget
    return {"rows": [a for a, _ in found], "claims": {c.id: c for _, c in found}, "zone": tz, "today": today}


def counts_by_status() -> dict[str, int]:
    rows = get_session().execute(select(SchedulingAppointment.status, func.count()).group_by(
        SchedulingAppointment.status))
    return dict(rows.all())


def slot_json(slot: engine.Slot) -> dict[str, Any]:
    return {"start": slot.start.isoformat(), "end": slot.end.isoformat(), "local": slot.local.isoformat(),
            "label": slot.local_label, "free_units": len(slot.free_units)}


def local(moment: datetime, shop: Any | None = None) -> datetime:
    return moment.astimezone(zone(shop or _shop()))

