"""Change generations: "has anything this page shows changed since I rendered it?" without a query.

Every commit that wrote rows bumps a generation: the claim's (a ``Claim`` row, or any row with a
``claim_id``), the shop's (any other tenant-owned row, or the ``Shop`` row itself) or the
platform's (any other row: plans, groups, users). A cached rendering is fresh while the three
generations it was rendered under are unchanged. The bump is found by watching the ORM flushes
of every session of the app, so core and plugin writes are covered without either saying so;
bulk ``UPDATE``/``DELETE`` statements bump the shop of the session's tenant (or the platform).

Generations are random tokens, not counters, local to each process: a process that may have missed
a bump starts over with new values rather than ever bringing an old one back.
:class:`RedisGenerations` shares bumps across processes and hosts through Redis pub/sub (what
production runs); :class:`LocalGenerations` is the one-process store of the embedded mode.

Read the generations **before** reading the data a rendering is built from: a commit that lands
in between then leaves the rendering under already-stale generations, never under fresh ones.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from cachetools import LRUCache
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from . import publishing

log = logging.getLogger(__name__)

PLATFORM = "p"
MAX_KEYS = 50_000  # per database and process: claims and shops whose pages this process may hold
CHANNEL_PREFIX = "bayline:gen:"
_PENDING = "bayline.generations.pending"
PENDING_KEY = _PENDING  # session.info key: generation keys this transaction wrote (not yet committed)

Generations = tuple[str, str, str]


def shop_key(shop_id: int) -> str:
    return f"s:{int(shop_id)}"


def claim_key(claim_id: int) -> str:
    return f"c:{int(claim_id)}"


class GenerationStore(Protocol):
    def current(self, shop_id: int, claim_id: int) -> Generations | None:
        """The (platform, shop, claim) generations now; None when they cannot be known (store down)."""

    def bump(self, keys: Iterable[str]) -> None:
        """Give each key a new generation."""


def _fresh() -> str:
    return secrets.token_hex(8)


def _values() -> LRUCache[str, str]:
    """Generation values of one database. Bounded: forgetting a key (a bump, or eviction) only means
    the next read makes a new value, so pages stored under the old one are never served again."""
    return LRUCache(maxsize=MAX_KEYS)


def _read(values: LRUCache[str, str], keys: tuple[str, ...]) -> Generations:
    out = []
    for key in keys:
        value = values.get(key)
        if value is None:
            value = values[key] = _fresh()
        out.append(value)
    return tuple(out)  # type: ignore[return-value]


class LocalGenerations:
    """Generations in this process (the embedded single-process mode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = _values()

    def current(self, shop_id: int, claim_id: int) -> Generations:
        with self._lock:
            return _read(self._values, (PLATFORM, shop_key(shop_id), claim_key(claim_id)))

    def bump(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)


class _RedisMirror:
    """This process's copy of every namespace's generations, kept by one listener thread per Redis
    URL (pattern subscription to all namespaces). Until the subscription is confirmed, and from
    the moment it breaks, the mirror is not synced and answers nothing; on every (re)subscription
    it starts over with new values, since bumps published meanwhile were missed."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30)
        self.lock = threading.Lock()
        self.values: dict[str, LRUCache[str, str]] = {}
        self.synced = False
        self.thread = threading.Thread(target=self._listen, name="bayline-generations", daemon=True)
        self.thread.start()

    def current(self, namespace: str, keys: tuple[str, ...]) -> Generations | None:
        with self.lock:
            if not self.synced:
                return None
            values = self.values.get(namespace)
            if values is None:
                values = self.values[namespace] = _values()
            return _read(values, keys)

    def apply(self, namespace: str, keys: Iterable[str]) -> None:
        with self.lock:
            values = self.values.get(namespace)
            for key in keys if values is not None else ():
                values.pop(key, None)  # type: ignore[union-attr]

    def _listen(self) -> None:
        import redis

        delay = 0.1
        while True:
            pubsub = self.client.pubsub()
            try:
                pubsub.psubscribe(CHANNEL_PREFIX + "*")
                while True:
                    message = pubsub.get_message(timeout=5.0)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        with self.lock:
                            self.values.clear()
                            self.synced = True
                        delay = 0.1
                    elif message["type"] == "pmessage":
                        namespace = message["channel"].decode()[len(CHANNEL_PREFIX):]
                        self.apply(namespace, json.loads(message["data"]))
            except (redis.RedisError, OSError, ValueError) as exc:
                log.warning("generation listener lost Redis (%s); pages are rendered until it is back", exc)
            finally:
                with self.lock:
                    self.synced = False
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


_MIRRORS: dict[tuple[int, str], _RedisMirror] = {}
_MIRRORS_LOCK = threading.Lock()


def _mirror(url: str) -> _RedisMirror:
    key = (os.getpid(), url)  # a forked worker starts its own listener
    with _MIRRORS_LOCK:
        mirror = _MIRRORS.get(key)
        if mirror is None:
            mirror = _MIRRORS[key] = _RedisMirror(url)
        return mirror


class RedisGenerations:
    """Generations shared through Redis pub/sub: a bump is applied here at once and published; every
    other process applies it when its listener receives it (sub-millisecond on one host). Reading
    costs no round trip. Namespaced by database so deployments and test databases can share a Redis."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.namespace = hashlib.sha256(database_url.encode()).hexdigest()[:12]

    def current(self, shop_id: int, claim_id: int) -> Generations | None:
        return _mirror(self.url).current(self.namespace, (PLATFORM, shop_key(shop_id), claim_key(claim_id)))

    def bump(self, keys: Iterable[str]) -> None:
        keys = sorted(set(keys))
        local = _MIRRORS.get((os.getpid(), self.url))  # none in a process that serves no pages (a worker)
        if local is not None:
            local.apply(self.namespace, keys)

        def failed(exc: Exception) -> None:
            # The change is committed; other processes' stored pages age out (PortalPageCache.max_age).
            log.warning("generation bump not published (Redis unavailable): %s", exc)

        # inside a commit (bayline.events.commit) it goes out with the change's live updates
        publishing.publish(self.url, CHANNEL_PREFIX + self.namespace, json.dumps(keys), failed)


def keys_of(obj: Any) -> str:
    """The generation a written ORM object belongs to."""
    from bayline.claims.models import Claim
    from bayline.tenancy import TenantScoped
    from bayline.tenants.models import Shop

    if isinstance(obj, Claim):
        return claim_key(obj.id) if obj.id is not None else shop_key(obj.tenant_id)
    claim_id = getattr(obj, "claim_id", None)
    if isinstance(obj, TenantScoped) and isinstance(claim_id, int):
        return claim_key(claim_id)
    if isinstance(obj, TenantScoped) and obj.tenant_id is not None:
        return shop_key(obj.tenant_id)
    if isinstance(obj, Shop) and obj.id is not None:
        return shop_key(obj.id)
    return PLATFORM


def track_writes(factory: sessionmaker, store: GenerationStore) -> None:
    """Bump the generations of whatever each committed transaction of ``factory``'s sessions wrote."""

    def pending(session: Session) -> set[str]:
        return session.info.setdefault(_PENDING, set())

    @event.listens_for(factory, "after_flush")
    def _collect(session: Session, _ctx: Any) -> None:
        keys = pending(session)
        for obj in (*session.new, *session.dirty, *session.deleted):
            keys.add(keys_of(obj))

    @event.listens_for(factory, "do_orm_execute")
    def _bulk(state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete:
            from bayline.tenancy import current_context

            ctx = current_context(state.session)
            tenant = ctx.single if ctx is not None else None
            pending(state.session).add(shop_key(tenant) if tenant is not None else PLATFORM)

    # Keys of a rolled-back flush are kept and bumped with the next commit: a spare invalidation is
    # harmless, a missed one (a savepoint rolled back inside a transaction that commits) is not.
    @event.listens_for(factory, "after_commit")
    def _bump(session: Session) -> None:
        keys = session.info.pop(_PENDING, None)
        if keys:
            store.bump(keys)
