"""The database pool follows the web worker's threads, has no per-checkout ping, and a forked
process (gunicorn --preload, Celery prefork) opens its own connections (issue 18 item 3)."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from bayline.config import ConfigError, load_settings


def test_pool_size_defaults_to_the_web_threads(tmp_path):
    base = {"BAYLINE_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(base).db_pool_size == 16
    assert load_settings({**base, "BAYLINE_WEB_THREADS": "24"}).db_pool_size == 24
    both = load_settings({**base, "BAYLINE_WEB_THREADS": "24", "BAYLINE_DB_POOL_SIZE": "8",
                          "BAYLINE_DB_MAX_OVERFLOW": "0", "BAYLINE_DB_POOL_RECYCLE": "60"})
    assert (both.db_pool_size, both.db_max_overflow, both.db_pool_recycle) == (8, 0, 60)


@pytest.mark.parametrize(("env", "message"), [
    ({"BAYLINE_DB_POOL_SIZE": "many"}, "BAYLINE_DB_POOL_SIZE must be a whole number"),
    ({"BAYLINE_WEB_THREADS": "0"}, "BAYLINE_WEB_THREADS must be at least 1"),
    ({"BAYLINE_DB_MAX_OVERFLOW": "-1"}, "BAYLINE_DB_MAX_OVERFLOW must be at least 0"),
])
def test_bad_pool_settings_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"BAYLINE_INSTANCE_DIR": str(tmp_path), **env})


@pytest.fixture(params=["postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app_config():
    return {"db_pool_size": 7, "db_max_overflow": 2, "db_pool_recycle": 90}


def test_the_engine_uses_the_settings_and_no_pre_ping(app):
    from bayline.db import get_db

    pool = get_db(app).engine.pool
    assert (pool.size(), pool._max_overflow, pool._recycle, pool._pre_ping) == (7, 2, 90, False)


def test_a_checkout_replaces_a_connection_the_server_ended(app, database_url):
    import psycopg

    from bayline.db import get_db
    from bayline.testing.databases import _libpq

    engine = get_db(app).engine
    with engine.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(_libpq(database_url), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,)).fetchone()[0]
    with engine.connect() as conn:  # no error: the dead connection is never handed out
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first


def test_a_forked_process_opens_its_own_connections(app):
    from bayline.db import get_db
    from bayline.forking import after_fork

    engine = get_db(app).engine
    with engine.connect() as conn:
        parent = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: what gunicorn's post_fork does, then a query
        code = 1
        try:
            after_fork()
            with engine.connect() as conn:
                os.write(write, str(conn.execute(text("SELECT pg_backend_pid()")).scalar()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(os.read(read, 64)) != parent
    with engine.connect() as conn:  # the parent's pooled connection was not closed by the child
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == parent
