"""Live updates for open portal and staff pages: a publish/subscribe broker per app.

``LocalBroker`` (in-process queues) when no Redis is configured; ``RedisBroker``
(Redis pub/sub) when ``BAYLINE_REDIS_URL`` is set, so an event published by one
gunicorn process or Celery worker reaches SSE clients held by any other.
Messages carry only the event type and ids; pages fetch what changed through
their own, session-checked routes.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from typing import Any, Protocol

from flask import Flask, current_app

from . import publishing

log = logging.getLogger(__name__)

PREFIX = "bayline:live:"


def portal_event_types() -> frozenset[str]:
    """Event types announced to a claim's open portal pages (registered with ``portal_live``)."""
    return frozenset(n for n, t in current_app.extensions["bayline.event_types"].items() if t.portal_live)


def staff_event_types() -> frozenset[str]:
    """Event types announced to a shop's open staff pages (registered with ``staff_live``)."""
    return frozenset(n for n, t in current_app.extensions["bayline.event_types"].items() if t.staff_live)


def channel(tenant_id: int, claim_id: int) -> str:
    """The channel of one claim's open portal pages."""
    return f"{PREFIX}{int(tenant_id)}:{int(claim_id)}"


def shop_channel(tenant_id: int) -> str:
    """The channel of a shop's open staff pages: every claim of the shop."""
    return f"{PREFIX}{int(tenant_id)}:shop"


def deployment_namespace(database_url: str) -> str:
    """A short id of this deployment (its database) for keys and channels in a shared Redis."""
    import hashlib

    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached: live updates are off until it answers (pages poll meanwhile)."""


class Subscription(Protocol):
    def get(self, timeout: float) -> dict[str, Any] | None: ...
    def close(self) -> None: ...


class Broker(Protocol):
    def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    def subscribe(self, channel: str) -> Subscription: ...


class _LocalSubscription:
    def __init__(self, broker: LocalBroker, name: str) -> None:
        self.broker, self.name = broker, name
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=100)

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.broker._remove(self)


class LocalBroker:
    """Queues in this process (the embedded default; one process only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[_LocalSubscription]] = {}

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for sub in subs:
            try:
                sub.queue.put_nowait(message)
            except queue.Full:  # a stalled client misses updates; its page polls on reconnect
                pass

    def subscribe(self, channel: str) -> _LocalSubscription:
        sub = _LocalSubscription(self, channel)
        with self._lock:
            self._subs.setdefault(channel, set()).add(sub)
        return sub

    def _remove(self, sub: _LocalSubscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.name)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.name]

    def subscriber_count(self, channel: str) -> int:
        with self._lock:
            return len(self._subs.get(channel, ()))


class _RedisSubscription:
    def __init__(self, client: Any, name: str) -> None:
        import redis

        self.pubsub = client.pubsub()
        try:
            self.pubsub.subscribe(name)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # wait for the confirmation: nothing published after us is lost
                msg = self.pubsub.get_message(timeout=0.5)
                if msg is not None and msg.get("type") == "subscribe":
                    break
        except redis.RedisError as exc:
            self.pubsub.close()
            raise BrokerUnavailable(f"Redis pub/sub unavailable: {exc}") from exc

    def get(self, timeout: float) -> dict[str, Any] | None:
        import redis

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = self.pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            except redis.RedisError as exc:
                raise BrokerUnavailable(f"Redis pub/sub lost: {exc}") from exc
            if msg is not None and msg.get("type") == "message":
                return json.loads(msg["data"])

    def close(self) -> None:
        import redis

        try:
            self.pubsub.unsubscribe()
        except redis.RedisError:
            pass  # the server is gone: nothing to unsubscribe from
        finally:
            self.pubsub.close()


class RedisBroker:
    """Redis pub/sub: works across processes and hosts."""

    def __init__(self, url: str, namespace: str = "") -> None:
        self.url = url
        self.namespace = namespace
        """Prefixed to every channel: deployments sharing one Redis never hear each other's shops."""
        self._clients: dict[int, Any] = {}

    @property
    def client(self) -> Any:
        """This process's subscribing client (a forked worker makes its own)."""
        pid = os.getpid()
        found = self._clients.get(pid)
        if found is None:
            import redis

            self._clients.clear()
            found = self._clients[pid] = redis.Redis.from_url(self.url, socket_connect_timeout=2)
        return found

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Best effort: the change is already committed; open pages poll when Redis is down. Inside
        :func:`bayline.publishing.batched` it goes out with the change's other publishes."""

        def failed(exc: Exception) -> None:
            log.warning("live update %s on %s not published: %s", message.get("type"), channel, exc)

        publishing.publish(self.url, self.namespace + channel, json.dumps(message), failed)

    def subscribe(self, channel: str) -> _RedisSubscription:
        return _RedisSubscription(self.client, self.namespace + channel)


def init_live(app: Flask) -> Broker:
    settings = app.extensions["bayline.settings"]
    url = settings.redis_url
    broker: Broker = RedisBroker(url, deployment_namespace(settings.database_url) + ":") if url else LocalBroker()
    app.extensions["bayline.live"] = broker
    return broker


def get_broker(app: Flask | None = None) -> Broker:
    return (app or current_app).extensions["bayline.live"]


def publish_event(tenant_id: int, claim_id: int, type_: str, event_id: str = "") -> None:
    """Tell the claim's open portal pages (for the portal's kinds) and the shop's open staff pages."""
    broker = get_broker()
    message = {"type": type_, "id": event_id, "claim_id": int(claim_id)}
    registered = current_app.extensions["bayline.event_types"].get(type_)
    if registered is None:
        return
    with publishing.batched():  # both channels in one round trip
        if registered.portal_live:
            broker.publish(channel(tenant_id, claim_id), message)
        if registered.staff_live:
            broker.publish(shop_channel(tenant_id), message)


# -- publishing after a commit ------------------------------------------------------------------
# Changes that are not events (a text's delivery status) still refresh open pages, but only once
# their transaction committed: a rolled-back change publishes nothing.

_PENDING = "bayline.live.pending"


def publish_after_commit(session: Any, tenant_id: int, claim_id: int, type_: str, event_id: str = "") -> None:
    """Queue :func:`publish_event` for when ``session`` commits (dropped on rollback)."""
    session.info.setdefault(_PENDING, []).append((int(tenant_id), int(claim_id), type_, event_id))


def _publish_pending(session: Any) -> None:
    with publishing.batched():
        for tenant_id, claim_id, type_, event_id in session.info.pop(_PENDING, None) or []:
            try:
                publish_event(tenant_id, claim_id, type_, event_id)
            except Exception:  # a broker outage never fails the committed change; pages poll too
                log.exception("live update %s for claim %s not published", type_, claim_id)


def _drop_pending(session: Any, _previous: Any = None) -> None:
    session.info.pop(_PENDING, None)


def _listen() -> None:
    from sqlalchemy import event

    from .tenancy import TenantSession

    event.listen(TenantSession, "after_commit", _publish_pending)
    event.listen(TenantSession, "after_soft_rollback", _drop_pending)


_listen()
