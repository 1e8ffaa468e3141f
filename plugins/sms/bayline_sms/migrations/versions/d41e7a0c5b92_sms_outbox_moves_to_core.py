"""sms texts and consent move to the core outbox and consent ledger

Revision ID: d41e7a0c5b92
Revises: cc9b35faa9c7
Create Date: 2026-12-01 21:10:00

Data migration: every ``sms_outbound`` row becomes an ``outbox_items`` row (channel sms, its state,
reason, provider id, due time; media and photo ids in ``options``); every ``sms_consent`` row becomes
core ledger records (transactional; marketing revoked when opted out), its history ``consent_events``
and, when opted out, a ``suppressions`` row. The core's revision 6f3d1f75b14d (run first by
``upgrade_all``) made those tables. Then the plugin's two tables are dropped: it keeps provider
details only (number, webhook events, inbound texts, stage notices).
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = 'd41e7a0c5b92'
down_revision = 'cc9b35faa9c7'
branch_labels = None
depends_on = None

STATE = {"held": "held", "queued": "queued", "sent": "sent", "delivered": "delivered", "failed": "failed"}


def _json(value):
    if value is None or isinstance(value, (list, dict)):
        return value or []
    return json.loads(value)


def _merged_consent(bind, consent):
    """One row per (shop, customer). The old table was unique per (shop number, customer), so a shop
    that changed numbers could hold two rows for one customer, while the core ledger is unique per
    (shop, contact, channel, purpose): an opt-out under any number wins (a STOP is never lost),
    otherwise the latest row decides; the histories are merged in time order."""
    merged: dict = {}
    for row in bind.execute(sa.select(consent).order_by(consent.c.changed_at, consent.c.id)).mappings():
        history = _json(row["history"]) or [{"status": row["status"], "source": row["source"]}]
        key = (row["tenant_id"], row["customer_number"])
        current = merged.get(key)
        if current is None:
            merged[key] = {**row, "history": list(history)}
            continue
        current["history"].extend(history)
        if row["status"] == "opted_out" or current["status"] != "opted_out":
            current.update(status=row["status"], source=row["source"], changed_at=row["changed_at"])
    for row in merged.values():
        row["history"].sort(key=lambda entry: entry.get("at") or "")
        yield row


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    outbound = sa.Table("sms_outbound", meta, autoload_with=bind)
    consent = sa.Table("sms_consent", meta, autoload_with=bind)
    items = sa.Table("outbox_items", meta, autoload_with=bind)
    records = sa.Table("consent_records", meta, autoload_with=bind)
    events = sa.Table("consent_events", meta, autoload_with=bind)
    suppressions = sa.Table("suppressions", meta, autoload_with=bind)
    for row in bind.execute(sa.select(outbound)).mappings():
        state = STATE.get(row["status"], "failed")
        if state == "queued" and row["telnyx_id"]:
            state = "sending"
        options = {"media_urls": _json(row["media_urls"]), "photo_ids": _json(row["photo_ids"]),
                   "from": row["from_number"]}
        if row["portal_link_token_id"] is not None:
            options["portal_token_id"] = row["portal_link_token_id"]
        bind.execute(items.insert().values(
            tenant_id=row["tenant_id"], idempotency_key=row["idempotency_key"][:120], claim_id=row["claim_id"],
            message_id=row["message_id"], channel="sms", purpose=row["purpose"] or "transactional",
            kind=row["kind"] or "manual", recipient=row["to_number"], body=row["body"], options=options,
            state=state, reason=row["error"], due_at=row["not_before"], attempts=row["attempts"] or 0,
            provider_id=row["telnyx_id"], created_at=row["created_at"], updated_at=row["updated_at"],
            sent_at=row["updated_at"] if state in ("sent", "delivered") else None,
            delivered_at=row["updated_at"] if state == "delivered" else None))
    now = datetime.now(UTC)
    for row in _merged_consent(bind, consent):
        out = row["status"] == "opted_out"
        for purpose in ("transactional", "marketing"):
            if purpose == "marketing" and not out:
                continue  # implied intake consent never covered marketing
            status = "revoked" if out else "granted"
            record_id = bind.execute(records.insert().values(
                tenant_id=row["tenant_id"], contact=row["customer_number"], channel="sms", purpose=purpose,
                status=status, source=row["source"][:40], wording_version=None,
                changed_at=row["changed_at"] or now)).inserted_primary_key[0]
            for entry in row["history"]:
                at = entry.get("at")
                bind.execute(events.insert().values(
                    tenant_id=row["tenant_id"], record_id=record_id,
                    status="revoked" if entry.get("status") == "opted_out" else "granted",
                    source=str(entry.get("source") or row["source"])[:40],
                    detail=(str(entry.get("detail") or "")[:300] or None),
                    at=datetime.fromisoformat(at) if at else (row["changed_at"] or now)))
        if out:
            bind.execute(suppressions.insert().values(
                tenant_id=row["tenant_id"], contact=row["customer_number"], channel="sms",
                source=row["source"][:40], detail="from the SMS plugin's ledger", created_at=row["changed_at"] or now))
    op.drop_table('sms_outbound')  # its indexes go with it
    op.drop_table('sms_consent')


def downgrade() -> None:
    raise NotImplementedError("the texts live in the core outbox now; restore from a backup to go back")
