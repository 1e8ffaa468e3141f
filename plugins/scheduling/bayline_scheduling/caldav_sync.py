"""Two-way CalDAV with the shop's staff calendar (the ``caldav`` client library).

Out: every live appointment is on that calendar as its ICS (the same UID and SEQUENCE as the
customer's invitation; stored verbatim, ``increase_seqno=False``), put there after each change (task
``bayline_scheduling.caldav_push``) and on every sync; a declined or cancelled one is deleted.

In: the calendar's other events are read back (recurring ones expanded) as busy periods
(``scheduling_busy``, replaced on each sync) that block every slot they overlap, of every type.
Events whose UID is one of the shop's own appointments are not busy periods: a live appointment
already holds its capacity unit (blocking the whole slot again would take the other units too).
Transparent ("free") events and all-day events block per the shop's settings
``scheduling.caldav_transparent`` and ``scheduling.caldav_all_day``; cancelled events never block.

Sync: the button on the calendar page, and every 5 minutes for each shop with a calendar set
(``bayline_scheduling.caldav_sync``). A calendar that cannot be reached, or refuses the user name or
password, is ``Refused(502, "scheduling_caldav_unreachable" | "scheduling_caldav_refused")`` and
nothing is changed (the busy periods of the last good sync stay).
"""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select

from bayline.plugin_api import Claim, Refused, commit, get_session, shop_settings, utcnow

from . import calendar, service
from .models import LIVE, SchedulingAppointment, SchedulingBusy

NAME = "scheduling"
TIMEOUT = 30
log = logging.getLogger(__name__)


def configured(shop: Any = None) -> bool:
    """Has the shop (default: the current one) set a staff CalDAV calendar?"""
    return bool(shop_settings(NAME, shop).get_str("caldav_url").strip())


def _refusal(exc: Exception) -> Refused:
    from caldav.lib import error

    if isinstance(exc, error.AuthorizationError):
        return Refused(502, "scheduling_caldav_refused",
                       "The CalDAV server refused the user name or password in the scheduling settings.")
    return Refused(502, "scheduling_caldav_unreachable",
                   f"The staff CalDAV calendar did not answer ({type(exc).__name__}). Nothing was changed.")


def _calendar(shop: Any) -> Any:
    import caldav

    s = shop_settings(NAME, shop)
    url = s.get_str("caldav_url").strip()
    if not url:
        raise Refused(409, "scheduling_caldav_off", "No staff CalDAV calendar is set for this shop.")
    client = caldav.DAVClient(url=url, username=s.get_str("caldav_username") or None,
                              password=s.get_str("caldav_password") or None, timeout=TIMEOUT)
    return client.calendar(url=url)


def _ics(appt: SchedulingAppointment, shop: Any, names: dict[str, str]) -> str:
    claim = get_session().get(Claim, appt.claim_id)
    return calendar.appointment_ics(appt, claim, shop, names.get(appt.type_key, appt.type_key),
                                    service.zone(shop)).decode()


def _put(cal: Any, appt: SchedulingAppointment, shop: Any, names: dict[str, str]) -> None:
    cal.add_event(_ics(appt, shop, names), increase_seqno=False)


def _remove(cal: Any, uid: str) -> bool:
    from caldav.lib import error

    try:
        cal.get_event_by_uid(uid).delete()
    except error.NotFoundError:
        return False
    return True


def push_one(shop: Any, appointment_id: int) -> bool:
    """Put one appointment on the staff calendar (or take it off once it is no longer live)."""
    appt = get_session().get(SchedulingAppointment, appointment_id)
    if appt is None:
        return False
    try:
        cal = _calendar(shop)
        if appt.status in LIVE:
            _put(cal, appt, shop, {t.key: t.name for t in service.types(shop)})
        else:
            _remove(cal, appt.uid)
    except Refused:
        raise
    except Exception as exc:  # the server's or the network's error, whatever its class
        raise _refusal(exc) from exc
    return True


def _to_utc(value: Any, tz: Any) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=tz).astimezone(UTC)


def busy_from(events: list[dict[str, Any]], ours: set[str], tz: Any, *, transparent: bool,
              all_day: bool) -> list[tuple[str, datetime, datetime, str]]:
    """(uid, start, end, summary) in UTC of the events that block slots, per the shop's rules."""
    out = []
    for ev in events:
        if ev["uid"] in ours or ev["status"] == "CANCELLED":
            continue
        if ev["transparent"] and not transparent:
            continue
        start, end = ev["start"], ev["end"]
        if ev["all_day"]:
            if not all_day:
                continue
            end = end if isinstance(end, date) and end > start else start + timedelta(days=1)
        elif end is None or end <= start:
            end = start  # an instant: blocks nothing (RFC 5545: a DTSTART-only event takes no time)
        begin, stop = _to_utc(start, tz), _to_utc(end, tz)
        if stop > begin:
            out.append((ev["uid"], begin, stop, ev["summary"]))
    return out


def sync(shop: Any) -> dict[str, int]:
    """Both ways, for the shop's horizon: read the calendar, put what is missing or older there,
    delete what is no longer live, and replace the busy periods. Commits."""
    s = shop_settings(NAME, shop)
    session = get_session()
    tz = service.zone(shop)
    now = utcnow()
    begin, end = now - timedelta(days=1), now + timedelta(days=s.get_int("horizon_days") + 2)
    appts = session.scalars(select(SchedulingAppointment).where(SchedulingAppointment.ends_at >= begin)).all()
    ours = set(session.scalars(select(SchedulingAppointment.uid)))
    names = {t.key: t.name for t in service.types(shop)}
    pushed = removed = 0
    try:
        cal = _calendar(shop)
        events: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for found in cal.search(start=begin, end=end, event=True, expand=True):
            for ev in calendar.parse_events(found.data):
                events.append(ev)
                seen[ev["uid"]] = max(seen.get(ev["uid"], -1), ev["sequence"])
        for appt in appts:
            if appt.status in LIVE and seen.get(appt.uid, -1) < appt.sequence:
                _put(cal, appt, shop, names)
                pushed += 1
            elif appt.status not in LIVE and appt.uid in seen:
                removed += int(_remove(cal, appt.uid))
    except Refused:
        raise
    except Exception as exc:
        raise _refusal(exc) from exc
    busy = busy_from(events, ours, tz, transparent=s.get_str("caldav_transparent") == "block",
                     all_day=s.get_str("caldav_all_day") == "block")
    session.execute(delete(SchedulingBusy))
    for uid, start, stop, summary in busy:
        session.add(SchedulingBusy(uid=uid[:255], resource="*", starts_at=start, ends_at=stop,
                                   summary=(summary or "")[:255] or None, synced_at=now))
    commit(session)
    return {"pushed": pushed, "removed": removed, "busy": len(busy)}
