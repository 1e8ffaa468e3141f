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

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app

from bayline.live import BrokerUnavailable, get_broker
from bayline.ops.metrics import SSE_CONNECTIONS

log = logging.getLogger(__name__)

UNAVAILABLE = "retry: 15000\n: live updates unavailable\n\n"
HEADERS = {"X-Accel-Buffering": "no"}


def event_stream(channel: str, kinds: frozenset[str],
                 forward: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    heartbeat = float(current_app.config.get("BAYLINE_SSE_HEARTBEAT", 15))
    max_seconds = float(current_app.config.get("BAYLINE_SSE_MAX_SECONDS", 300))
    try:
        subscription = get_broker().subscribe(channel)
    except BrokerUnavailable as exc:
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
        except BrokerUnavailable as exc:
            log.warning("live stream ended: %s", exc)
            yield UNAVAILABLE
        finally:
            SSE_CONNECTIONS.dec()
            subscription.close()

    return Response(stream(), mimetype="text/event-stream", headers=HEADERS)
