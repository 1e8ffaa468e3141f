"""Test helpers of the scheduling plugin: the fixed clock of its tests, the shop hours they use, and a
local CalDAV server (Radicale) started on a free loopback port."""
from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
"""Monday 2 March 2026, 11:00 in New York: outside quiet hours."""
HOURS = [{"days": "Mon–Fri", "open": "08:00", "close": "17:00"}, {"days": "Sat", "closed": True},
         {"days": "Sun", "closed": True}]


def utc(*args: int) -> str:
    """``utc(2026, 3, 3, 14, 0)`` → its ISO 8601 text in UTC."""
    return datetime(*args, tzinfo=UTC).isoformat()
