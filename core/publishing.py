"""Redis publishes of one change in one round trip.

A committed change announces itself up to three times: the page-cache generation bump
(:mod:`bayline.generations`), the claim's open portal pages and the shop's open staff pages
(:mod:`bayline.live`). Each goes through :func:`publish`; inside :func:`batched` (opened by
:func:`bayline.events.commit` around the commit and the delivery of its events) they are queued and
sent at the end in one pipeline per Redis URL, so a stage change costs one round trip instead of three.

Every process holds one publishing client per Redis URL (:func:`client`), created on first use in
that process: a gunicorn worker forked from a ``--preload`` master never shares the master's
sockets (redis-py also checks the pid of its pool, this makes it explicit and cheap).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

OnError = Callable[[Exception], None]
_BATCH: ContextVar[list[tuple[str, str, str, OnError]] | None] = ContextVar("bayline_publish_batch", default=None)
_CLIENTS: dict[tuple[int, str], Any] = {}
_LOCK = threading.Lock()


def client(url: str) -> Any:
    """This process's publishing client for ``url`` (short timeouts: a publish is best effort)."""
    key = (os.getpid(), url)
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is None:
            import redis

            found = _CLIENTS[key] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return found


def reset_after_fork() -> None:
    """Forget clients made by the parent process (gunicorn ``post_fork``; harmless anywhere)."""
    with _LOCK:
        for (pid, _url), stale in list(_CLIENTS.items()):
            if pid != os.getpid():
                stale.connection_pool.reset()
                del _CLIENTS[(pid, _url)]


def publish(url: str, channel: str, data: str, on_error: OnError) -> None:
    """Publish ``data`` on ``channel`` now, or at the end of the current :func:`batched` block.
    ``on_error`` hears a Redis failure (the change is committed already: callers log and go on)."""
    batch = _BATCH.get()
    if batch is None:
        _send([(url, channel, data, on_error)])
    else:
        batch.append((url, channel, data, on_error))


@contextmanager
def batched() -> Iterator[None]:
    """Queue every :func:`publish` inside; send them together at the end (nested blocks join the
    outermost one)."""
    if _BATCH.get() is not None:
        yield
        return
    token = _BATCH.set([])
    try:
        yield
    finally:
        pending = _BATCH.get() or []
        _BATCH.reset(token)
        if pending:
            _send(pending)


def _send(items: list[tuple[str, str, str, OnError]]) -> None:
    import redis

    by_url: dict[str, list[tuple[str, str, str, OnError]]] = {}
    for item in items:
        by_url.setdefault(item[0], []).append(item)
    for url, group in by_url.items():
        try:
            if len(group) == 1:
                client(url).publish(group[0][1], group[0][2])
            else:
                pipe = client(url).pipeline(transaction=False)
                for _url, channel, data, _on_error in group:
                    pipe.publish(channel, data)
                pipe.execute()
        except (redis.RedisError, OSError) as exc:
            for *_rest, on_error in group:
                try:
                    on_error(exc)
                except Exception:  # a failing error handler must not hide the others
                    log.exception("publish error handler failed")
