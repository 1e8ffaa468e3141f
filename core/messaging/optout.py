"""The one opt-out parser: carrier keywords (CTIA) and reasonable natural phrasings (FCC 2024 order)."""
from __future__ import annotations

import re

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

_WORDS = re.compile(r"[a-z']+")
# A request to stop *messages*: a stop verb aimed at texts/messages/contact or at "me".
_STOP_VERBS = r"(stop|quit|cease|end|no more|don'?t|do not|never)"
_MEDIUM = r"(text(s|ing)?|messag(e|es|ing)|sms|contact(ing)?|email(s|ing)?|notifications?|send(ing)? me)"
_NATURAL = [
    re.compile(rf"\b{_STOP_VERBS}\b.{{0,20}}\b{_MEDIUM}\b"),
    re.compile(r"\b(unsubscribe|opt(-| )?out|remove me|take me off|leave me alone|revoke)\b"),
    re.compile(r"\bstop\b.{0,10}\b(me|us)\b"),  # "stop messaging me", "please stop me"
    re.compile(r"\bwrong number\b"),
]


def _normalise(body: str) -> str:
    return " ".join(_WORDS.findall((body or "").lower().replace("’", "'")))


def parse(body: str) -> str | None:
    """``"STOP"``, ``"START"``, ``"HELP"`` or None for an inbound message.

    A whole-message keyword (case-insensitive, punctuation ignored) counts, and so does a natural
    request to stop messages ("please stop texting me", "unsubscribe me", "no more texts").
    "stop the work on my car" is about the repair, not the messages: not an opt-out."""
    words = _normalise(body)
    compact = words.replace(" ", "").upper()
    if compact in OPT_OUT or words.upper() in {"OPT OUT", "STOP ALL"}:
        return "STOP"
    if compact in OPT_IN:
        return "START"
    if compact in HELP:
        return "HELP"
    if any(p.search(words) for p in _NATURAL):
        return "STOP"
    return None
