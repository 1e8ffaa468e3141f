"""Quiet hours in the recipient's time zone (else the shop's), per purpose, and send rate limits."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from bayline import settings_registry
from bayline.db import get_session, utcnow

from .models import OutboxItem

# Marketing never outside 08:00-21:00 local (TCPA 47 CFR 64.1200(c)(1), state laws are stricter);
# a shop may narrow this window, never widen it.
MARKETING_EARLIEST, MARKETING_LATEST = time(8, 0), time(21, 0)


def parse_hhmm(value: str) -> str:
    try:
        parsed = datetime.strptime(value.strip(), "%H:%M")
    except ValueError:
        raise ValueError("must be a time like 21:00") from None
    return parsed.strftime("%H:%M")


def zone(recipient_timezone: str | None, shop_timezone: str | None) -> ZoneInfo:
    for name in (recipient_timezone, shop_timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _window(shop_id: int, purpose: str) -> tuple[time, time] | None:
    """(quiet start, quiet end) local times for ``purpose``; None = no quiet hours."""
    prefix = "messaging.marketing_quiet_hours" if purpose == "marketing" else "messaging.quiet_hours"
    start = settings_registry.get(shop_id, f"{prefix}_start")
    end = settings_registry.get(shop_id, f"{prefix}_end")
    if purpose == "marketing":
        s = time.fromisoformat(start) if start else MARKETING_LATEST
        if not MARKETING_EARLIEST < s <= MARKETING_LATEST:
            s = MARKETING_LATEST
        e = time.fromisoformat(end) if end else MARKETING_EARLIEST
        if not MARKETING_EARLIEST <= e < s:
            e = MARKETING_EARLIEST
        return s, e
    if not start or not end or start == end:
        return None
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(shop_id: int, shop_timezone: str | None, purpose: str, recipient_timezone: str | None = None,
                now: datetime | None = None) -> datetime | None:
    """When ``now`` is inside the purpose's quiet window at the recipient, the UTC time it ends."""
    if purpose == "conversational":
        return None  # a reply to the customer's own message goes out when staff send it
    window = _window(shop_id, purpose)
    if window is None:
        return None
    s, e = window
    local = (now or utcnow()).astimezone(zone(recipient_timezone, shop_timezone))
    t = local.time()
    inside = (s <= t < e) if s < e else (t >= s or t < e)
    if not inside:
        return None
    opens = local.replace(hour=e.hour, minute=e.minute, second=0, microsecond=0)
    if opens <= local:
        opens += timedelta(days=1)  # wall-clock arithmetic in the zone: right across a DST change
    return opens.astimezone(UTC)


def local_label(when: datetime, recipient_timezone: str | None, shop_timezone: str | None) -> str:
    return when.astimezone(zone(recipient_timezone, shop_timezone)).strftime("%H:%M")


def rate_limited_until(shop_id: int, recipient: str, now: datetime | None = None) -> datetime | None:
    """When a per-shop or per-recipient hourly limit is reached, the time the oldest send in the window
    leaves it; else None. Counted from the outbox itself (sending/sent/delivered in the last hour)."""
    now = now or utcnow()
    since = now - timedelta(hours=1)
    per_shop = int(settings_registry.get(shop_id, "messaging.rate_limit_shop_per_hour") or 0)
    per_recipient = int(settings_registry.get(shop_id, "messaging.rate_limit_recipient_per_hour") or 0)
    session = get_session()
    base = select(func.count(OutboxItem.id), func.min(OutboxItem.sent_at)).where(
        OutboxItem.sent_at.is_not(None), OutboxItem.sent_at > since)
    for limit, query in ((per_recipient, base.where(OutboxItem.recipient == recipient)), (per_shop, base)):
        if not limit:
            continue
        count, oldest = session.execute(query).one()
        if count >= limit and oldest is not None:
            return oldest + timedelta(hours=1)
    return None
