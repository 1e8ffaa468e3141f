"""Reading the operations settings (kept apart so the low layers import nothing else of bayline.ops)."""
from __future__ import annotations

import os
from typing import Any

from bayline.config import Settings


def option(settings: Settings, name: str, default: str | None = None) -> str | None:
    """``settings.extra[name]`` (a ``create_app`` override) or ``BAYLINE_<NAME>`` or ``default``."""
    value: Any = settings.extra.get(name)
    if value is None:
        value = os.environ.get(f"BAYLINE_{name.upper()}")
    return default if value in (None, "") else str(value)
