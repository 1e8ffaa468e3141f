"""When a shop is open: its weekly hours (``Shop.hours``) and its holiday closures (``Shop.closures``).

The one place that answers "is the shop open that day?" and "what is the next day it opens?": the
portal's hours card, the claim page's ETA warning and anything that computes a business day use it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import ValidationError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_CLOSURES = 120
LABEL_MAX = 80
UPCOMING_DAYS = 60
"""The portal lists the closures of the next two months."""


def shop_today(shop: Any, now: datetime | None = None) -> date:
    """Today's date where the shop is (its time zone; UTC if the zone is unknown)."""
    now = now or datetime.now(UTC)
    try:
        return now.astimezone(ZoneInfo(shop.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return now.astimezone(UTC).date()


def check_closures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Closures ``[{"date": "2026-12-25", "label": "Christmas"}]`` checked and sorted by date (the
    label is optional, up to 80 characters; one row per date). Errors name the row: ``closures.0``."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, dict[str, Any]] = {}
    if len(rows) > MAX_CLOSURES:
        raise ValidationError({"closures": [f"at most {MAX_CLOSURES} closed days"]})
    for index, row in enumerate(rows):
        where = f"closures.{index}"
        if not isinstance(row, dict):
            errors[where] = ["each closure is {date, label}"]
            continue
        raw = str(row.get("date") or "").strip()
        label = " ".join(str(row.get("label") or "").split())
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors[where] = ["enter the date the shop is closed (YYYY-MM-DD)" if raw else "enter a date"]
            continue
        if len(label) > LABEL_MAX:
            errors[where] = [f"the label is at most {LABEL_MAX} characters"]
            continue
        if day.isoformat() in clean:
            errors[where] = [f"{day.isoformat()} is listed twice"]
            continue
        clean[day.isoformat()] = {"date": day.isoformat(), "label": label} if label else {"date": day.isoformat()}
    if errors:
        raise ValidationError(errors)
    return [clean[k] for k in sorted(clean)]


def closure_on(shop: Any, day: date) -> dict[str, Any] | None:
    """The shop's closure row for ``day``, or None."""
    wanted = day.isoformat()
    return next((c for c in shop.closures or [] if c.get("date") == wanted), None)


def _weekly_closed(shop: Any, day: date) -> bool:
    """Is ``day``'s weekday marked closed in the weekly hours (a row for exactly that weekday)?"""
    name = WEEKDAYS[day.weekday()]
    return any(h.get("days") == name and h.get("closed") for h in shop.hours or [])


def is_open_on(shop: Any, day: date) -> bool:
    """False on a holiday closure or a weekday the weekly hours mark closed."""
    return closure_on(shop, day) is None and not _weekly_closed(shop, day)


def next_open_day(shop: Any, after: date, limit: int = 366) -> date | None:
    """The first day after ``after`` the shop opens (None if it never does within ``limit`` days)."""
    day = after
    for _ in range(limit):
        day += timedelta(days=1)
        if is_open_on(shop, day):
            return day
    return None


def upcoming_closures(shop: Any, today: date, days: int = UPCOMING_DAYS) -> list[dict[str, Any]]:
    """Closures from ``today`` to ``days`` ahead, as ``{"date": date, "label": str}`` by date."""
    end = today + timedelta(days=days)
    out = []
    for row in shop.closures or []:
        try:
            day = date.fromisoformat(str(row.get("date")))
        except ValueError:
            continue
        if today <= day <= end:
            out.append({"date": day, "label": row.get("label") or ""})
    return sorted(out, key=lambda r: r["date"])


def closed_reason(shop: Any, day: date) -> str | None:
    """Why the shop is closed on ``day`` in words ("Christmas", "closed on Sundays"), or None if open."""
    closure = closure_on(shop, day)
    if closure is not None:
        return closure.get("label") or "holiday closure"
    if _weekly_closed(shop, day):
        return f"closed on {day.strftime('%A')}s"
    return None
