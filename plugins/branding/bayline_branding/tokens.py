"""Design tokens: colours parsed strictly, contrast measured with WCAG 2.x relative luminance.

A shop picks five tokens instead of writing CSS: ``primary`` (buttons, links, the header),
``text_on_primary`` (text on it), ``accent`` (the current stage, highlights), ``surface`` (cards)
and ``radius`` (px). Every pair that carries text must reach WCAG AA, 4.5:1; the accent, a
non-text mark, 3:1 (WCAG 1.4.11). A failing pair is refused with the measured ratio and the nearest
colour that passes (same hue, only lighter or darker).
"""
from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass
from typing import Any

INK = "#1c2430"
"""The body text colour of the portal (design.css ``--ink``): read on the surface."""
DEFAULTS = {"primary": "#0a56e0", "accent": "#0a56e0", "surface": "#ffffff", "text_on_primary": "#ffffff",
            "radius": 8}
TEXT_RATIO = 4.5
MARK_RATIO = 3.0
MAX_RADIUS = 24
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Pair:
    """A foreground token read on a background token, and the ratio it needs."""

    foreground: str
    background: str
    minimum: float
    what: str


PAIRS = (Pair("text_on_primary", "primary", TEXT_RATIO, "text on buttons and the header"),
         Pair("primary", "surface", TEXT_RATIO, "links and outlined buttons on cards"),
         Pair("ink", "surface", TEXT_RATIO, "body text on cards"),
         Pair("accent", "surface", MARK_RATIO, "the current-stage mark on cards"))


def parse_colour(value: Any) -> str:
    """``#rrggbb`` (lower case) from ``#rgb``, ``#rrggbb`` or the same without ``#``; ValueError otherwise."""
    text = str(value or "").strip()
    match = _HEX.fullmatch(text)
    if match is None:
        raise ValueError(f"{text[:40]!r} is not a colour: write it as #rrggbb (for example #0a56e0)")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def parse_radius(value: Any) -> int:
    try:
        radius = int(str(value).strip().removesuffix("px"))
    except ValueError:
        raise ValueError("a whole number of pixels, 0 to 24") from None
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError("a whole number of pixels, 0 to 24")
    return radius


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (r, g, b))


def suggest(foreground: str, background: str, minimum: float) -> str:
    """The colour nearest ``foreground`` (same hue and saturation, lightness moved the least, towards
    darker or lighter, whichever is closer) that reaches ``minimum`` on ``background``."""
    r, g, b = (int(foreground[i:i + 2], 16) / 255 for i in (1, 3, 5))
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    best: tuple[float, str] | None = None
    for direction in (-1, 1):
        for step in range(1, 101):
            candidate_l = light + direction * step / 100
            if not 0 <= candidate_l <= 1:
                break
            candidate = _hex(*colorsys.hls_to_rgb(hue, candidate_l, sat))
            if contrast(candidate, background) >= minimum:
                if best is None or step < best[0]:
                    best = (step, candidate)
                break
    if best is None:
        return "#000000" if contrast("#000000", background) >= contrast("#ffffff", background) else "#ffffff"
    return best[1]


def effective(tokens: dict[str, Any]) -> dict[str, Any]:
    """``tokens`` with the defaults filled in for every token left empty."""
    return {key: tokens.get(key) if tokens.get(key) not in (None, "") else default for key, default in DEFAULTS.items()}


def check(tokens: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Field errors for ``tokens`` (raw input): values that are not colours, then every pair below its
    ratio, named on its foreground field with the measured ratio and a colour that passes. Tokens
    not given are read from ``base`` (what the shop shows now, e.g. inherited from its group)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = tokens.get(key)
        if raw in (None, ""):
            continue
        try:
            clean[key] = parse_radius(raw) if key == "radius" else parse_colour(raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        return errors
    merged = {**{k: v for k, v in (base or {}).items() if k in DEFAULTS and v not in (None, "")}, **clean}
    values = {**effective(merged), "ink": INK}
    for pair in PAIRS:
        fg, bg = values[pair.foreground], values[pair.background]
        ratio = contrast(fg, bg)
        if ratio + 1e-9 < pair.minimum:
            field = pair.foreground if pair.foreground != "ink" else pair.background
            fixed = suggest(fg, bg, pair.minimum) if pair.foreground != "ink" else suggest(bg, INK, pair.minimum)
            errors.setdefault(field, []).append(
                f"contrast {ratio:.2f}:1 is below {pair.minimum:g}:1 for {pair.what} ({fg} on {bg}); "
                f"try {fixed}")
    return errors


def clean(tokens: dict[str, Any]) -> dict[str, Any]:
    """Parsed tokens (only those given); call :func:`check` first."""
    out: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = tokens.get(key)
        if raw in (None, ""):
            out[key] = None
        else:
            out[key] = parse_radius(raw) if key == "radius" else parse_colour(raw)
    return out
