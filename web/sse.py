"""One Server-Sent Events stream over a live-update channel (core/live.py), for the portal page and
the staff console alike.

``data:`` lines carry what ``forward`` keeps of each message whose type is in ``kinds``; comment
heartbeats keep proxies from closing the connection. The stream ends after
``BAYLINE_SSE_MAX_SECONDS`` so the browser reconnects and the caller's session (revoked link,
logged-out staff) is checked again; a closed tab ends the generator and frees the subscription.
When the broker cannot be reached the answer asks the browser to come back in 15 s (pages poll
meanwhile).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request

from bayline.live import BrokerUnavailable, get_broker
from bayline.ops.metrics import SSE_CONNECTIONS

log = logging.getLogger(__name__)

UNAVAILABLE = "retry: 15000\n: live updates unavailable\n\n"
HEADERS = {"X-Accel-Buffering": "no"}


class _OpenStreams:
    """Streams open in this process per client IP and per session: each holds a worker thread, so
    one client may not hold them all (about 150 per IP and session were possible before)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def acquire(self, keys: tuple[str, str], limits: tuple[int, int]) -> bool:
        with self._lock:
            if any(self._counts[k] >= limit for k, limit in zip(keys, limits, strict=True)):
                return False
            self._counts.update(keys)
            return True

    def release(self, keys: tuple[str, str]) -> None:
        with self._lock:
            self._counts.subtract(keys)
            for key in keys:
                if self._counts[key] <= 0:
                    del self._counts[key]


def _open_streams() -> _OpenStreams:
    return current_app.extensions.setdefault("bayline.sse_open", _OpenStreams())  # type: ignore[no-any-return]


def _stream_keys() -> tuple[str, str]:
    cookie = request.cookies.get(current_app.config.get("SESSION_COOKIE_NAME", "session"), "")
    session_key = hashlib.sha256(cookie.encode()).hexdigest()[:16] if cookie else f"ip:{request.remote_addr}"
    return f"ip:{request.remote_addr}", f"session:{session_key}"


def event_stream(channel: str, kinds: frozenset[str],
                 forward: Callable[[dict[str, Any]], dict[str, Any]],
                 ends_on: frozenset[str] = frozenset()) -> Response:
    heartbeat = float(current_app.config.get("BAYLINE_SSE_HEARTBEAT", 15))
    max_seconds = float(current_app.config.get("BAYLINE_SSE_MAX_SECONDS", 300))
    keys = _stream_keys()
    limits = (int(current_app.config.get("BAYLINE_SSE_MAX_PER_IP", 30)),
              int(current_app.config.get("BAYLINE_SSE_MAX_PER_SESSION", 6)))
    open_streams = _open_streams()
    if not open_streams.acquire(keys, limits):
        return Response("retry: 30000\n: too many live streams open; this page polls instead\n\n", status=429,
                        mimetype="text/event-stream", headers={**HEADERS, "Retry-After": "30"})
    try:
        subscription = get_broker().subscribe(channel)
    except BrokerUnavailable as exc:
        open_streams.release(keys)
        log.warning("live updates unavailable: %s", exc)
        return Response(UNAVAILABLE, mimetype="text/event-stream", headers=HEADERS)

    def stream() -> Iterator[str]:
        SSE_CONNECTIONS.inc()
        try:
            yield "retry: 3000\n: connected\n\n"
            ends = time.monotonic() + max_seconds
            while time.monotonic() < ends:
                message = subscription.get(timeout=min(heartbeat, max(ends - time.monotonic(), 0.01)))
                if message is None:
                    yield ": ping\n\n"
                elif message.get("type") in kinds:
                    yield f"data: {json.dumps(forward(message))}\n\n"
                    if message["type"] in ends_on:  # the page refetches; a session still valid reconnects
                        return
        except BrokerUnavailable as exc:
            log.warning("live stream ended: %s", exc)
            yield UNAVAILABLE
        finally:
            SSE_CONNECTIONS.dec()
            subscription.close()

    response = Response(stream(), mimetype="text/event-stream", headers=HEADERS)
    released = threading.Event()

    def release() -> None:  # when the server closes the answer: ended, or the client went away
        if not released.is_set():
            released.set()
            open_streams.release(keys)

    response.call_on_close(release)
    return response
