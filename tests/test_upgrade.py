"""An upgrade from the previous release's schema, with data in it, to the code's heads (issue 19 item 5).

The database is built from empty up to ``PREVIOUS_RELEASE`` (the revisions the last release
shipped: core, sms and e-sign; plugins released since are not installed yet), filled at that
revision with plain SQL (the models describe the new schema, not the old one), then ``flask db
upgrade`` brings it to head. The rows are all there, the data migration ran (a portal link written
into a message body is masked), the schema matches the models, and ``/-/ready`` sees the migrations
at head. Bump ``PREVIOUS_RELEASE`` when a release is cut.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from bayline import create_app
from bayline.db import get_db
from bayline.migrate import CORE, alembic_config, components, pending_changes
from bayline.testing.databases import _admin, _with_database, postgres_admin_url, postgres_reachable

# the last release: core before customer links v2 (0005_links_v2.py), sms before the core outbox, e-sign
# at its head. A plugin it did not ship (quotes, csi, ai_drafts, email, scheduling, a third party's) is
# not in its database: the upgrade installs it, after the core it needs (its tables may reference core
# tables the previous release did not have, e.g. outbox_items).
PREVIOUS_RELEASE = {CORE: "5d2c8e1f0a47", "sms": "cc9b35faa9c7", "esign": "heads"}
TOKEN = "Zq7" + "x" * 40


@pytest.fixture
def empty_database_url(db_backend, tmp_path):
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'previous.db'}"
        return
    ok, reason = postgres_reachable()
    if not ok:
        pytest.skip(reason)
    name = f"bayline_upgrade_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(postgres_admin_url() or "", name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate_previous_release(engine: sa.Engine) -> dict[str, int]:
    """A group, a shop with a stage, a claim with a portal link and a message quoting the link."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn, only=["groups", "shops", "stages", "claims", "portal_tokens", "messages",
                                 "sms_consent"])
        t = meta.tables

        def insert(table_name: str, **values) -> int:
            table = t[table_name]
            for column in table.columns:  # fill what the old schema requires and the test does not care about
                if column.name in values or column.nullable or column.primary_key or column.server_default:
                    continue
                try:
                    kind = column.type.python_type
                except NotImplementedError:
                    kind = str
                values[column.name] = (now if kind is datetime else 0 if kind in (int, float) else
                                       False if kind is bool else {} if kind is dict else
                                       f"{table_name}-{column.name}"[:column.type.length or 40]
                                       if hasattr(column.type, "length") else f"{table_name}-{column.name}")
            return conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()

        group = insert("groups", name="Upgrade Group", slug=f"up-{uuid.uuid4().hex[:6]}")
        shop = insert("shops", group_id=group, name="Upgrade Collision", slug=f"ups-{uuid.uuid4().hex[:6]}",
                      plan_key="elite", country="US", timezone="America/New_York")
        stage = insert("stages", tenant_id=shop, name="Check-in", position=0)
        claim = insert("claims", tenant_id=shop, number="RO-OLD-1", claim_type="insurance",
                       customer_first_name="Dana", customer_last_name="Reyes", stage_id=stage,
                       stage_entered_at=now, created_at=now, updated_at=now)
        token = insert("portal_tokens", tenant_id=shop, claim_id=claim, token_hash="f" * 64, state="active",
                       created_at=now)
        message = insert("messages", tenant_id=shop, claim_id=claim, direction="out", channel="sms",
                         body=f"Track your repair: https://status.example.test/c/{TOKEN}", created_at=now,
                         delivery_state="sent")
        # the old SMS ledger was unique per (shop number, customer): after a number change one shop
        # holds two rows for one customer, the older one a STOP
        insert("sms_consent", tenant_id=shop, shop_number="+15550100001", customer_number="+15555550123",
               status="opted_out", source="keyword", purposes=[], changed_at=now - timedelta(days=30),
               history=[{"status": "opted_out", "source": "keyword", "at": (now - timedelta(days=30)).isoformat()}])
        insert("sms_consent", tenant_id=shop, shop_number="+15550100002", customer_number="+15555550123",
               status="opted_in", source="intake", purposes=[], changed_at=now,
               history=[{"status": "opted_in", "source": "intake", "at": now.isoformat()}])
    return {"shop": shop, "claim": claim, "token": token, "message": message}


def test_upgrade_from_the_previous_release_keeps_every_row(empty_database_url, tmp_path):
    app = create_app({"database_url": empty_database_url, "env": "test", "instance_dir": tmp_path / "i"})
    engine = get_db(app).engine
    for component in components(app):
        if component in PREVIOUS_RELEASE:
            with engine.begin() as conn:
                command.upgrade(alembic_config(app, component, conn), PREVIOUS_RELEASE[component])
    ids = populate_previous_release(engine)

    result = app.test_cli_runner().invoke(args=["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    with engine.connect() as conn:
        token = conn.execute(sa.text("SELECT purpose, state, claim_id FROM portal_tokens WHERE id = :i"),
                             {"i": ids["token"]}).one()
        body = conn.execute(sa.text("SELECT body FROM messages WHERE id = :i"), {"i": ids["message"]}).scalar_one()
        claim = conn.execute(sa.text("SELECT number, tenant_id FROM claims WHERE id = :i"),
                             {"i": ids["claim"]}).one()
    assert tuple(token) == ("staff_copy", "active", ids["claim"])  # the new column's default for old links
    assert TOKEN not in body and "(link sent)" in body  # the data migration masked the stored link
    assert tuple(claim) == ("RO-OLD-1", ids["shop"])
    with engine.connect() as conn:  # one ledger row per purpose; the STOP under the old number wins
        records = conn.execute(sa.text("SELECT purpose, status FROM consent_records WHERE tenant_id = :s "
                                       "AND contact = '+15555550123' ORDER BY purpose"), {"s": ids["shop"]}).all()
        suppressed = conn.execute(sa.text("SELECT count(*) FROM suppressions WHERE tenant_id = :s"),
                                  {"s": ids["shop"]}).scalar_one()
        history = conn.execute(sa.text("SELECT count(*) FROM consent_events e JOIN consent_records r "
                                       "ON r.id = e.record_id WHERE r.purpose = 'transactional'")).scalar_one()
    assert [tuple(r) for r in records] == [("marketing", "revoked"), ("transactional", "revoked")]
    assert suppressed == 1 and history == 2
    assert pending_changes(app) == []
    ready = app.test_client().get("/-/ready")
    assert ready.status_code == 200 and ready.json["checks"]["migrations"]["ok"], ready.json
    get_db(app).dispose()
