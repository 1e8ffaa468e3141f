"""Calendars: public holidays (the ``holidays`` package), each appointment as an ICS (``icalendar``) with
a stable UID and a SEQUENCE bumped on every change (METHOD REQUEST, or CANCEL once it is off), and the
location's private ICS feed (a secret token; only its SHA-256 is stored; revocable)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import Claim, commit, get_session, unscoped, utcnow

from .models import LIVE, SchedulingAppointment, SchedulingFeed

PRODID = "-//Bayline//Scheduling//EN"


@lru_cache(maxsize=1)
def holiday_countries() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=64)
def _holidays(country: str, first: int, last: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=range(first, last + 1)))


def public_holidays(country: str, first_year: int, last_year: int) -> set[date]:
    country = (country or "").strip().upper()
    if not country or country not in holiday_countries():
        return set()
    return set(_holidays(country, first_year, last_year))


# -- ICS ---------------------------------------------------------------------------------------


def _event(appt: SchedulingAppointment, claim: Claim | None, shop: Any, type_name: str, zone: Any) -> Any:
    from icalendar import Event

    ev = Event()
    ev.add("uid", appt.uid)
    ev.add("dtstamp", (appt.updated_at or utcnow()).astimezone(UTC))
    ev.add("dtstart", appt.starts_at.astimezone(zone))
    ev.add("dtend", appt.ends_at.astimezone(zone))
    ev.add("sequence", appt.sequence)
    ev.add("summary", f"{type_name}: {claim.customer_name} ({claim.number})" if claim else type_name)
    ev.add("location", shop.address or shop.name)
    ev.add("status", {"confirmed": "CONFIRMED", "pending": "TENTATIVE"}.get(appt.status, "CANCELLED"))
    ev.add("transp", "OPAQUE")
    if getattr(shop, "email", None):
        from icalendar import vCalAddress

        organizer = vCalAddress(f"mailto:{shop.email}")
        organizer.params["cn"] = shop.name
        ev.add("organizer", organizer)
    if claim is not None and claim.vehicle:
        ev.add("description", f"{claim.vehicle}. Claim {claim.number}.")
    return ev


def _calendar(method: str | None) -> Any:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    return cal


def appointment_ics(appt: SchedulingAppointment, claim: Claim | None, shop: Any, type_name: str, zone: Any,
                    method: str | None = None) -> bytes:
    """One appointment as an ICS: METHOD REQUEST while it is live, CANCEL after (``method=None``: a
    plain calendar object, as stored on a CalDAV server)."""
    if method == "auto":
        method = "REQUEST" if appt.status in LIVE else "CANCEL"
    cal = _calendar(method)
    cal.add_component(_event(appt, claim, shop, type_name, zone))
    cal.add_missing_timezones()
    return cal.to_ical()


def feed_ics(shop: Any, zone: Any, type_names: dict[str, str], days_back: int = 30) -> bytes:
    """The location's feed: live appointments from ``days_back`` days ago on."""
    session = get_session()
    since = utcnow() - timedelta(days=days_back)
    rows = session.scalars(select(SchedulingAppointment).where(
        SchedulingAppointment.starts_at >= since, SchedulingAppointment.status.in_(LIVE))
        .order_by(SchedulingAppointment.starts_at)).all()
    claims = {c.id: c for c in session.scalars(select(Claim).where(Claim.id.in_({r.claim_id for r in rows})))}
    cal = _calendar(None)
    cal.add("x-wr-calname", f"{shop.name} appointments")
    for appt in rows:
        cal.add_component(_event(appt, claims.get(appt.claim_id), shop, type_names.get(appt.type_key,
                                                                                         appt.type_key), zone))
    cal.add_missing_timezones()
    return cal.to_ical()


def parse_events(data: bytes | str) -> list[dict[str, Any]]:
    """The VEVENTs of an ICS as ``{uid, start, end, all_day, transparent, summary, dtstart_raw}``."""
    from icalendar import Calendar

    cal = Calendar.from_ical(data)
    out = []
    for ev in cal.walk("VEVENT"):
        start = ev.decoded("dtstart")
        all_day = not isinstance(start, datetime)
        if ev.get("dtend") is not None:
            end = ev.decoded("dtend")
        elif ev.get("duration") is not None:
            end = start + ev.decoded("duration")
        else:  # RFC 5545 3.6.1: a date lasts the day; a date-time alone takes no time
            end = start + timedelta(days=1) if all_day else None
        out.append({"uid": str(ev.get("uid")), "start": start, "end": end, "all_day": all_day,
                    "transparent": str(ev.get("transp", "OPAQUE")).upper() == "TRANSPARENT",
                    "status": str(ev.get("status", "")).upper(), "summary": str(ev.get("summary", "")),
                    "sequence": int(ev.get("sequence", 0)), "dtstart_raw": ev.get("dtstart").to_ical().decode()})
    return out


# -- the private feed --------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_feed() -> str:
    """Revoke the location's current feed and issue a new one; returns the token (shown once)."""
    session = get_session()
    now = utcnow()
    for row in session.scalars(select(SchedulingFeed).where(SchedulingFeed.revoked_at.is_(None))):
        row.revoked_at = now
    token = secrets.token_urlsafe(32)
    session.add(SchedulingFeed(token_hash=_digest(token), created_at=now))
    commit(session)
    return token


def revoke_feeds() -> int:
    session = get_session()
    n = 0
    for row in session.scalars(select(SchedulingFeed).where(SchedulingFeed.revoked_at.is_(None))):
        row.revoked_at = utcnow()
        n += 1
    commit(session)
    return n


def active_feed() -> SchedulingFeed | None:
    return get_session().scalar(select(SchedulingFeed).where(SchedulingFeed.revoked_at.is_(None)))


def feed_shop_id(token: str) -> int | None:
    """The shop whose live feed ``token`` opens (looked up before any tenant is known)."""
    if not token or len(token) > 100:
        return None
    session = get_session()
    with unscoped(session):
        row = session.scalar(select(SchedulingFeed).where(SchedulingFeed.token_hash == _digest(token),
                                                          SchedulingFeed.revoked_at.is_(None)))
    return row.tenant_id if row is not None else None
