"""Helpers shared by the branding tests (imported by name: conftest modules are not importable)."""
from __future__ import annotations

import io
import re

BRAND = {"primary": "#7a1f2b", "text_on_primary": "#ffffff", "accent": "#b8860b", "surface": "#fffdf8",
         "radius": 12, "welcome": "Welcome to Harbor Collision"}


def png(size: tuple[int, int] = (120, 60), colour: tuple[int, int, int] = (122, 31, 43)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()




def stylesheet_url(html: str) -> str | None:
    """The brand stylesheet a page links to, or None (the neutral look)."""
    match = re.search(r'href="(/plugins/branding/shops/[^"]+/brand\.css\?v=[^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None
