"""Keep portal tokens out of every log line.

Access logs (werkzeug, gunicorn), Flask's error log ("Exception on /c/<token>")
and our own messages all build a ``LogRecord``; a record factory rewrites
``/c/<token>`` to ``/c/[redacted]`` before any handler or formatter sees it.
A :class:`RedactTokens` filter does the same for handlers configured elsewhere.
"""
from __future__ import annotations

import logging
import re
from typing import Any

# a link secret or a printed short code (/c/...), an unsubscribe token (/u/...)
TOKEN_RE = re.compile(r"(/c/|/u/)(?!s/)[A-Za-z0-9_\-.]{10,}")
_installed = False


def redact(text: str) -> str:
    return TOKEN_RE.sub(r"\1[redacted]", text)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's problem, not ours
        return
    if "/c/" in message:
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def install() -> None:
    """Wrap the process's log-record factory once (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
