"""One error shape everywhere: JSON ``{code, status, message, errors}`` for the API and
machine clients, a friendly HTML page for people."""
from __future__ import annotations

from typing import Any

from flask import render_template, request
from werkzeug.exceptions import HTTPException

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path.startswith("/-/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


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
    if status == 429 and error.get_headers():
        headers.update({k: v for k, v in error.get_headers() if k.lower() == "retry-after"})
    return payload, headers


def handle_http_exception(error: HTTPException) -> Any:
    payload, headers = error_payload(error)
    if wants_json():
        return payload, payload["status"], headers
    template = "errors/portal.html" if request.path.startswith("/c/") else "errors/error.html"
    return render_template(template, error=payload), payload["status"], headers
