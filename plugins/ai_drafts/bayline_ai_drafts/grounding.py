"""The grounding check: every date, weekday, time, amount, phone number, URL and claim/RO number a
draft states must appear in the facts it was written from. What cannot be found is returned as a
span (kind, text, start, end) so the composer highlights it and one-click send is blocked until
staff edit it out or confirm it."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4, "sábado": 5, "sabado": 5,
    "domingo": 6,
}
RELATIVE = {"today": "today", "tomorrow": "tomorrow", "tonight": "today", "hoy": "today", "mañana": "tomorrow",
            "manana": "tomorrow"}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("url", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.I)),
    ("amount", re.compile(r"(?:(?:US)?\$|€|USD\s?)\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?"
                          r"(?:dollars|dólares|dolares|usd)\b", re.I)),
    ("phone", re.compile(r"(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"
                        rf"|\b(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
                        rf"|\b\d{{1,2}}(?:\s+de)?\s+(?:{_MONTH})\b", re.I)),
    ("time", re.compile(r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?:\s?[ap]\.?\s?m\.?)?|\b(?:1[0-2]|0?[1-9])\s?[ap]\.?\s?m\.?"
                        r"(?![a-z])|\b(?:noon|midnight|mediodía|mediodia)\b", re.I)),
    ("weekday", re.compile(rf"\b(?:{_WEEKDAY})\b\.?|\b(?:today|tomorrow|tonight|hoy|mañana|manana)\b", re.I)),
    ("number", re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z0-9]{4})[A-Z0-9]+(?:-[A-Z0-9]+)*\b", re.I)),
]


@dataclass(frozen=True)
class Span:
    kind: str
    text: str
    start: int
    end: int
    norm: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end}


def _norm(kind: str, text: str) -> str:
    t = text.strip().lower().rstrip(".,;:!?)")
    if kind == "url":
        return t.removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    if kind == "amount":
        digits = re.sub(r"[^\d.]", "", t.replace(",", ""))
        try:
            return str(Decimal(digits).quantize(Decimal("0.01")))
        except InvalidOperation:
            return t
    if kind == "phone":
        return re.sub(r"\D", "", t)[-10:]
    if kind == "date":
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t)
        if m:
            return f"{int(m[2])}-{int(m[3])}"
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:/\d{2,4})?", t)
        if m:
            return f"{int(m[1])}-{int(m[2])}"
        m = re.fullmatch(rf"({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?", t)
        if m:
            return f"{MONTHS[m[1]]}-{int(m[2])}"
        m = re.fullmatch(rf"(\d{{1,2}})(?:\s+de)?\s+({_MONTH})", t)
        if m:
            return f"{MONTHS[m[2]]}-{int(m[1])}"
        return t
    if kind == "time":
        if t in ("noon", "mediodía", "mediodia"):
            return "12:00"
        if t == "midnight":
            return "0:00"
        m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s?([ap])?\.?\s?(m\.?)?", t)
        if m:
            hour, minute = int(m[1]), int(m[2] or 0)
            if m[3] == "p" and hour < 12:
                hour += 12
            if m[3] == "a" and hour == 12:
                hour = 0
            return f"{hour}:{minute:02d}"
        return t
    if kind == "weekday":
        t = t.rstrip(".")
        if t in RELATIVE:
            return RELATIVE[t]
        return str(WEEKDAYS.get(t, t))
    if kind == "number":
        return re.sub(r"[^0-9a-z]", "", t)
    return t


def spans(text: str) -> list[Span]:
    """Every checkable item in ``text``, earlier patterns first (a URL's digits are not a number)."""
    taken: list[tuple[int, int]] = []
    out: list[Span] = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            raw = m.group(0).rstrip(".,;:!?)")
            end = start + len(raw)
            if any(start < e and end > s for s, e in taken):
                continue
            if kind == "number" and len(re.sub(r"\D", "", raw)) < 3 and not re.search(r"[a-z]", raw, re.I):
                continue
            taken.append((start, end))
            out.append(Span(kind, raw, start, end, _norm(kind, raw)))
    return sorted(out, key=lambda s: s.start)


def supported(values: Iterable[str], extra: Iterable[tuple[str, str]] = ()) -> set[tuple[str, str]]:
    """What the facts support: the same items extracted from every fact value, plus ``extra``
    (kind, normalised) pairs (a fact's weekday, today's and tomorrow's relative words)."""
    found = set(extra)
    for value in values:
        for span in spans(value):
            found.add((span.kind, span.norm))
            if span.kind == "number":  # an RO number may be written with or without its dashes
                found.add(("number", span.norm))
        for digits in re.findall(r"\+?\d{10,11}", value):  # a stored E.164 number: +16175550199
            found.add(("phone", re.sub(r"\D", "", digits)[-10:]))
        alnum = re.sub(r"[^0-9a-z]", "", value.lower())
        if alnum:
            found.add(("alnum", alnum))
    return found


PLACEHOLDERS = ("{portal_link}",)


def check(text: str, facts_supported: set[tuple[str, str]]) -> list[Span]:
    """The spans of ``text`` the facts do not support."""
    alnums = [n for k, n in facts_supported if k == "alnum"]
    bad: list[Span] = []
    for span in spans(text):
        if (span.kind, span.norm) in facts_supported:
            continue
        if span.kind == "number" and any(span.norm in a for a in alnums):
            continue
        bad.append(span)
    return bad


def segments(text: str, unsupported: list[dict[str, object]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, unsupported?) pieces for highlighting in a template."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for item in sorted(unsupported, key=lambda u: int(u["start"])):  # type: ignore[call-overload]
        start, end = int(item["start"]), int(item["end"])  # type: ignore[call-overload]
        if start < pos or end > len(text) or text[start:end] != item["text"]:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters (words for very long texts, to bound the work)."""
    if a == b:
        return 0
    x: list[str] | str = a
    y: list[str] | str = b
    if len(a) * len(b) > 1_000_000:
        x, y = a.split(), b.split()
    prev = list(range(len(y) + 1))
    for i, ca in enumerate(x, 1):
        cur = [i]
        for j, cb in enumerate(y, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
