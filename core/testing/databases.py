"""Throwaway databases for tests: a migrated template per backend, cloned per test."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bayline.db import normalise_url

POSTGRES_ENV = "BAYLINE_TEST_POSTGRES_URL"
REDIS_ENV = "BAYLINE_TEST_REDIS_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def postgres_reachable() -> tuple[bool, str]:
    url = postgres_admin_url()
    if not url:
        return False, f"{POSTGRES_ENV} is not set (make test sets it when PostgreSQL answers on 127.0.0.1:5432)"
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3):
            return True, ""
    except psycopg.Error as exc:
        return False, f"PostgreSQL at {POSTGRES_ENV} is not reachable: {exc}"


def redis_reachable() -> tuple[bool, str]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        return False, f"{REDIS_ENV} is not set (make test sets it when Redis answers on 127.0.0.1:6379)"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return True, ""
    except redis.RedisError as exc:
        return False, f"Redis at {REDIS_ENV} is not reachable: {exc}"


def _libpq(url: str) -> str:
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    with psycopg.connect(_libpq(postgres_admin_url() or ""), autocommit=True) as conn:
        conn.execute(sql)


_RUN_ID = uuid.uuid4().hex[:8]


def worker_suffix() -> str:
    """Unique per test process, so concurrent runs on one server never share a template."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{_RUN_ID}"


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"

    def template_url(self) -> str:
        return f"sqlite:///{self.template}"

    def clone(self) -> str:
        target = self.root / f"t_{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


class PostgresDatabases:
    def __init__(self) -> None:
        self.template_name = f"bayline_tmpl_{worker_suffix()}"
        _admin(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{self.template_name}"')

    def template_url(self) -> str:
        return _with_database(postgres_admin_url() or "", self.template_name)

    def clone(self) -> str:
        name = f"bayline_t_{worker_suffix()}_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        return _with_database(postgres_admin_url() or "", name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        _admin(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
