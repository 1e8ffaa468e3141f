"""One error shape everywhere: JSON ``{code, status, message, errors}`` for the API and
machine clients, a friendly HTML page for people."""
from __future__ import annotations

import errno
import logging
from typing import Any

from flask import g, render_template, request
from werkzeug.exceptions import HTTPException

from bayline.errors import Refused, wants_json

log = logging.getLogger("bayline")

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "rate_limited", 500: "internal_error", 503: "unavailable", 507: "insufficient_storage",
}


__all__ = ["CODES", "error_payload", "handle_http_exception", "handle_refused", "render_error", "wants_json"]


def error_payload(error: HTTPException) -> tuple[dict[str, Any], dict[str, str]]:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    payload: dict[str, Any] = {
        "code": data.get("error_code") or CODES.get(status, "error"),
        "status": status,
        "message": data.get("message") or (error.description if status < 500 else "Something went wrong on our side."),
    }
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = errors
    headers = dict(data.get("headers") or {})
    if status in (405, 429) and error.get_headers():
        wanted = {"retry-after", "allow"}  # RFC 9110: a 405 names the methods the resource allows
        headers.update({k: v for k, v in error.get_headers() if k.lower() in wanted})
    return payload, headers


def render_error(payload: dict[str, Any], headers: dict[str, str]) -> Any:
    """The error shape as JSON for machine callers, as the portal's or the console's page otherwise."""
    from flask import has_request_context
    from flask.globals import request_ctx

    if wants_json():
        return payload, payload["status"], headers
    if has_request_context() and request_ctx.url_adapter is None:
        # an untrusted Host header (TRUSTED_HOSTS): no URL can be built, so no page that links anywhere
        return f"{payload['status']} {payload['message']}\n", payload["status"], {
            **headers, "Content-Type": "text/plain; charset=utf-8"}
    template = "errors/portal.html" if request.path.startswith("/c/") else "errors/error.html"
    return render_template(template, error=payload), payload["status"], headers


def handle_http_exception(error: HTTPException) -> Any:
    payload, headers = error_payload(error)
    return render_error(payload, headers)


def handle_refused(exc: Refused) -> Any:
    """The one handler of :class:`bayline.errors.Refused`: the request's uncommitted work is
    rolled back, then the caller gets the error shape (JSON) or a friendly page."""
    session = g.get("_bayline_session")
    if session is not None:
        session.rollback()
    return render_error(exc.payload(), exc.headers)


# -- infrastructure faults: a clear, retryable answer instead of an anonymous 500 -----------------

STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def _fault(status: int, code: str, message: str, retry_after: int | None = None) -> Any:
    error = HTTPException(description=message)
    error.code = status
    error.data = {"error_code": code, "message": message,  # type: ignore[attr-defined]
                  "headers": {"Retry-After": str(retry_after)} if retry_after else {}}
    return handle_http_exception(error)


def handle_database_error(exc: Exception) -> Any:
    """The database went away (connection dropped, server restarting): 503, nothing was committed
    (the transaction died with the connection) and the pool replaces the connection (bayline.db._alive)."""
    from sqlalchemy.exc import DBAPIError

    if not (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        raise exc
    log.warning("database connection lost during %s %s: %s", request.method, request.path, exc.orig)
    return _fault(503, "database_unavailable", "The database is unavailable for a moment. Please try again.", 5)


def handle_os_error(exc: OSError) -> Any:
    """Disk full / read-only / quota on file storage: 507 with a clear message (the upload code
    removes what it wrote and the transaction is rolled back)."""
    if exc.errno not in STORAGE_ERRNOS:
        raise exc
    log.error("storage write failed during %s %s: %s", request.method, request.path, exc)
    return _fault(507, "insufficient_storage", "The file could not be stored right now. Please try again later.")
