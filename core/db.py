"""Database engine, sessions and the declarative base.

One :class:`Database` per app, kept in ``app.extensions["bayline.db"]``. A session
lives for one app context (a request, a CLI command, a task) and is closed at
teardown. Use :func:`get_session` everywhere; never build sessions by hand.
"""
from __future__ import annotations

import select
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

# Largest primary-key value (ids are 32-bit INTEGER columns). Ids from URLs, bodies and forms
# beyond it cannot name a row, and PostgreSQL/SQLite refuse to compare against them.
MAX_ID = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for core and plugin models (plugins share one metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what UTCDateTime columns store)."""
    return datetime.now(UTC)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _alive(dbapi_conn: Any) -> bool:
    """Whether an idle pooled PostgreSQL connection can be used, without a round trip.

    An idle connection has nothing to read: when its socket is readable the server has sent
    something unasked (the FATAL notice of a terminated backend or a restart, then EOF), or the
    driver already knows it is closed or broken. Either way the pool replaces it. This replaces
    ``pool_pre_ping`` (a ``SELECT 1`` round trip on every checkout); what it cannot see (a silent
    network drop) fails that one request with a 503, and the pool is invalidated by the error."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return False
    try:
        fd = dbapi_conn.fileno()
    except Exception:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. PostgreSQL: a ``QueuePool`` (``pool_size``, ``max_overflow``,
    ``pool_recycle`` from the caller, see :class:`Database`) with a syscall-only liveness check on
    checkout; ``nullpool=True`` for one-off engines."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if kwargs.pop("nullpool", False):
        kwargs["poolclass"] = NullPool
        for name in ("pool_size", "max_overflow"):
            kwargs.pop(name, None)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "checkout")
    def _check_alive(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if not _alive(dbapi_conn):
            raise DisconnectionError("pooled connection closed by the server")  # the pool retries anew

    return engine


class Database:
    """Engine + session factory bound to one Flask app."""

    def __init__(self, url: str, session_class: type[Session], *, pool_size: int = 16, max_overflow: int = 4,
                 pool_recycle: int = 1800) -> None:
        self.url = normalise_url(url)
        pool = ({} if self.url.startswith("sqlite") else
                {"pool_size": pool_size, "max_overflow": max_overflow, "pool_recycle": pool_recycle})
        self.engine = make_engine(self.url, **pool)
        self.sessionmaker = sessionmaker(bind=self.engine, class_=session_class, expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        app.extensions["bayline.db"] = self
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("_bayline_session", None)
        if session is not None:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

    def after_fork(self) -> None:
        """In a process forked from the one that made the engine (gunicorn ``--preload``, Celery
        prefork): drop the parent's pooled connections without closing them (the parent owns the
        sockets); this process opens its own."""
        self.engine.dispose(close=False)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["bayline.db"]


def get_session() -> Session:
    """The session of the current app context (created on first use)."""
    session = g.get("_bayline_session")
    if session is None:
        session = get_db().sessionmaker()
        g._bayline_session = session
    return session
