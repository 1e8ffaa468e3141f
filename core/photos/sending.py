"""Sending stored file bytes to a browser or API client (console, portal and API routes alike)."""
from __future__ import annotations

from flask import Response, abort, redirect, request

from bayline.storage import FileMissing, content_disposition, get_storage

FILE_CSP = "default-src 'none'; sandbox"


def send_file_bytes(key: str, content_type: str, *, filename: str | None = None, download: bool = False,
                    private_cache: bool = True) -> Response:
    """Stream from storage, or (S3, outside the portal) redirect to a presigned URL valid for a minute.
    The portal always streams: its Content-Security-Policy allows images from this origin only."""
    storage = get_storage()
    if not request.path.startswith("/c/"):
        url = storage.url(key, content_type=content_type, filename=filename, download=download)
        if url:
            response = redirect(url, 302)
            response.headers["Cache-Control"] = "no-store"
            return response
    try:
        data = storage.get(key)
    except FileMissing:
        abort(404)
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=300" if private_cache else "no-store"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    if filename or download:
        response.headers["Content-Disposition"] = content_disposition(filename or "file", download)
    return response
