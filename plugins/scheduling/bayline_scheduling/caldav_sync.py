"""Two-way CalDAV with the shop's staff calendar (the ``caldav`` client): each live appointment is put
there as its ICS (same UID; a cancelled one is deleted), and the other events of that calendar are read
back as busy periods that block slots (transparent and all-day events per the shop's settings)."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select

from bayline.plugin_api import Claim, Refused, commit, get_session, shop_settings, utcnow

from . import calendar, service
from .models import LIVE, SchedulingAppointment, SchedulingBusy

NAME = "scheduling"


def _calendar(shop: Any) -> Any:
    import caldav

    s = shop_settings(NAME)
    url = s.get_str("caldav_url").strip()
    if not url:
        raise Refused(409, "scheduling_caldav_off", "No staff CalDAV calendar is set for this shop.")
    client = caldav.DAVClient(url=url, username=s.get_str("caldav_username") or None,
                              password=s.get_str("caldav_password") or None)
    try:
        return client.calendar(url=url)
    except Exception as exc:
        raise Refused(502, "scheduling_caldav_unreachable", f"The CalDAV calendar did not answer: {exc}") from exc


def push(shop: Any, cal: Any | None = None) -> int:
    """Put every upcoming live appointment on the staff calendar; delete the cancelled ones."""
    cal = cal or _calendar(shop)
    session = get_session()
    names = {t.key: t.name for t in service.types(shop)}
    tz = service.zone(shop)
    since = utcnow() - timedelta(days=1)
    rows = session.scalars(select(SchedulingAppointment).where(SchedulingAppointment.ends_at >= since)).all()
    n = 0
    for appt in rows:
        claim = session.get(Claim, appt.claim_id)
        if appt.status in LIVE:
            cal.save_event(calendar.appointment_ics(appt, claim, shop, names.get(appt.type_key, appt.type_key), tz)
                           .decode())
            n += 1
        else:
            try:
                cal.event_by_uid(appt.uid).delete()
            except Exception:
                pass
    return n


def pull(shop: Any, cal: Any | None = None, days: int | None = None) -> int:
    """Replace the shop's busy periods with the staff calendar's own events (not ours)."""
    cal = cal or _calendar(shop)
    s = shop_settings(NAME)
    session = get_session()
    tz = service.zone(shop)
    now = utcnow()
    end = now + timedelta(days=days or s.get_int("horizon_days") + 1)
    ours = set(session.scalars(select(SchedulingAppointment.uid)))
    session.execute(delete(SchedulingBusy))
    n = 0
    for found in cal.search(start=now - timedelta(days=1), end=end, event=True, expand=False):
        for ev in calendar.parse_events(found.data):
            if ev["uid"] in ours or ev["status"] == "CANCELLED":
                continue
            if ev["transparent"] and s.get_str("caldav_transparent") != "block":
                continue
            start, stop = ev["start"], ev["end"]
            if ev["all_day"]:
                if s.get_str("caldav_all_day") != "block":
                    continue
                stop = stop or start + timedelta(days=1)
                start = datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC)
                stop = datetime.combine(stop, time(0), tzinfo=tz).astimezone(UTC)
            else:
                if start.tzinfo is None:
                    start = start.replace(tzinfo=tz)
                stop = stop or start + timedelta(hours=1)
                if stop.tzinfo is None:
                    stop = stop.replace(tzinfo=tz)
                start, stop = start.astimezone(UTC), stop.astimezone(UTC)
            session.add(SchedulingBusy(uid=ev["uid"][:255], resource="*", starts_at=start, ends_at=stop,
                                       summary=ev["summary"][:255] or None, synced_at=now))
            n += 1
    return n


def sync(shop: Any) -> dict[str, int]:
    cal = _calendar(shop)
    pushed = push(shop, cal)
    pulled = pull(shop, cal)
    commit(get_session())
    return {"pushed": pushed, "busy": pulled}
