"""PostgreSQL connection dropped mid-request: a clear 503 in the standard error shape, no partial
write, and the next request succeeds (the pool replaces dead connections: the checkout's liveness
poll, ``bayline.db._alive``, sees the socket the server closed).

The drop is real: an event hook on the app's engine runs ``pg_terminate_backend`` for the
request's own server process from a second connection, between two write statements of one
transaction (the first write has already run on the server when the connection dies).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, func, select

from bayline.db import Base, get_db
from bayline.testing.databases import _libpq
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


@pytest.fixture(params=["postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite has no server connection to drop. Skipped (with the reason) when
    ``BAYLINE_TEST_POSTGRES_URL`` is unset or unreachable."""
    return request.param


@pytest.fixture
def app_config():
    return {"PROPAGATE_EXCEPTIONS": False}  # what a real server does with an unhandled error


def row_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in Base.metadata.tables
                if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is not None}


def terminate_others(database_url: str) -> int:
    """Kill every other connection to the test database (the app's idle pooled ones), waiting until
    each server process has ended (as after a restart; a checkout in the same microsecond as the
    kill is the one case the liveness poll cannot see, and answers one 503)."""
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


@contextmanager
def drop_connection_at_write(app, database_url: str, nth: int = 2) -> Iterator[list[str]]:
    """Terminate the server process of the connection about to run the ``nth`` write statement."""
    engine = get_db(app).engine
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not re.match(r"\s*(INSERT|UPDATE|DELETE)\b", statement, re.I):
            return
        seen.append(statement.split("(")[0][:60])
        if len(seen) == nth:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(_libpq(database_url), autocommit=True) as admin:
                assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_api_write_dropped_mid_transaction(app, database_url, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop)
    stages = api.get("/api/v1/stages").json
    before = row_counts(database_url)

    with drop_connection_at_write(app, database_url) as writes:
        r = api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    assert len(writes) >= 2, f"the request made fewer than two writes: {writes}"
    assert r.status_code == 503, r.get_data(as_text=True)[:500]
    assert r.json == {"code": "database_unavailable", "status": 503,
                      "message": "The database is unavailable for a moment. Please try again."}
    assert r.headers["Retry-After"] == "5"
    assert row_counts(database_url) == before  # the first write died with its transaction
    with in_tenant(app, shop.id) as session:
        from bayline.claims.models import Claim

        assert session.scalar(select(Claim.stage_id).where(Claim.id == claim.id)) == stages[0]["id"]

    assert terminate_others(database_url) >= 0  # idle pooled connections die too: the checkout replaces them
    again = api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    assert again.status_code == 200, again.get_data(as_text=True)[:500]
    assert again.json["stage_id"] == stages[1]["id"]
    assert api.get(f"/api/v1/claims/{claim.id}").status_code == 200


def test_portal_message_dropped_mid_transaction(app, database_url, make_shop, make_claim, portal_client):
    from bayline.messages.models import Message

    shop = make_shop()
    claim = make_claim(shop)
    customer = portal_client(claim)
    page = customer.get("/c/s/").get_data(as_text=True)
    token = csrf_token(page)
    before = row_counts(database_url)

    with drop_connection_at_write(app, database_url, nth=1) as writes:
        r = customer.post("/c/s/messages", data={"csrf_token": token, "body": "Hello?"})
    assert writes, "the request wrote nothing"
    assert r.status_code == 503 and "text/html" in r.content_type  # the friendly portal error page
    assert row_counts(database_url) == before
    r = customer.post("/c/s/messages", data={"csrf_token": token, "body": "Hello?"})
    assert r.status_code == 303
    with in_tenant(app, shop.id) as session:
        assert session.scalar(select(func.count(Message.id)).where(Message.claim_id == claim.id)) == 1
