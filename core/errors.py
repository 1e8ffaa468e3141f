"""The one refusal type and the one "does this caller want JSON?" rule.

Services, views and plugins raise :class:`Refused` for anything a caller did wrong or may not do;
one handler (``bayline.api.errors.handle_refused``) turns it into the core's error shape
``{code, status, message, errors}`` for API and JSON callers, or a friendly page for people.
"""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request


class Refused(Exception):
    """A request refused with an HTTP ``status``, a stable ``code`` and a human ``message``.

    ``errors`` (optional) carries field errors (``{"json": {"body": ["required"]}}``) and
    ``headers`` extra response headers (``Retry-After``). Raised anywhere during a request it
    answers that request, and nothing of the request's transaction is committed."""

    def __init__(self, status: int, code: str, message: str, *, errors: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = int(status)
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"

    def payload(self) -> dict[str, Any]:
        """The body of the JSON answer (the core's error shape)."""
        data: dict[str, Any] = {"code": self.code, "status": self.status, "message": self.message}
        if self.errors:
            data["errors"] = self.errors
        return data


def wants_json() -> bool:
    """True when the current request should be answered with JSON rather than a page: API and
    introspection paths (``/api/``, ``/-/``), JSON request bodies, and clients that prefer
    ``application/json`` over ``text/html`` in ``Accept``."""
    if not has_request_context():
        return True
    if request.path.startswith(("/api/", "/-/")) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
