"""Keep secrets that travel in URLs out of every log line.

Access logs (werkzeug, gunicorn), Flask's error log ("Exception on /c/<token>")
and our own messages all build a ``LogRecord``; a record factory rewrites every
secret-bearing path segment -- portal links ``/c/<token>``, password resets
``/reset/<token>``, staff invitations ``/invite/<token>``, signed photo URLs
``/files/photos/<token>`` -- and secret query parameters (``token=``, ``sig=``,
``signature=``, ``code=``, ``key=``) to ``[redacted]`` before any handler or
formatter sees it. A :class:`RedactTokens` filter does the same for handlers
configured elsewhere.
"""
from __future__ import annotations

import logging
import re
from typing import Any

# a link secret or a printed short code (/c/...), an unsubscribe token (/u/...)
TOKEN_RE = re.compile(r"(/c/|/u/)(?!s/)[A-Za-z0-9_\-.]{10,}")
SECRET_PATH_RE = re.compile(r"(/(?:reset|invite|files/photos)/)[A-Za-z0-9_\-.:~%]{10,}")
SECRET_QUERY_RE = re.compile(r"([?&](?:token|sig|signature|code|key|secret)=)[^&\s\"']+", re.IGNORECASE)
_MARKERS = ("/c/", "/u/", "/reset/", "/invite/", "/files/photos/", "=")
_installed = False


def redact(text: str) -> str:
    text = TOKEN_RE.sub(r"\1[redacted]", text)
    text = SECRET_PATH_RE.sub(r"\1[redacted]", text)
    return SECRET_QUERY_RE.sub(r"\1[redacted]", text)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's problem, not ours
        return
    if any(marker in message for marker in _MARKERS):
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
