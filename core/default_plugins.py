"""Core behaviour implemented through the same hooks plugins use (always active)."""
from __future__ import annotations

CORE_PLUGINS: list[tuple[str, object]] = []
