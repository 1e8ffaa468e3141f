"""The schema stays on the path to sharding by tenant (issue 19 item 6; docs/operations.md, "Scale-out").

Read from the migrated database itself (SQLite and PostgreSQL), not from the models: every table with
a ``tenant_id`` column (tenant-owned) has an index leading with ``tenant_id``, and every unique
constraint or unique index on it includes ``tenant_id``, the rule a sharded PostgreSQL (Citus)
enforces for distributed tables. The exceptions are listed below, each with its reason; a new
table or constraint that breaks the rule fails here by name, and so does a stale entry.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect

from bayline.db import get_db

# Unique on a secret's digest or a public id, looked up *before* the tenant is known (an API key,
# a portal link, a signing link, a provider's webhook). Platform-wide by design: when distributing,
# each becomes a small reference (routing) table ``value -> tenant_id`` and the constraint moves there.
PLATFORM_WIDE: dict[tuple[str, tuple[str, ...]], str] = {
    ("api_keys", ("key_hash",)): "an API key is resolved to its shop from the key alone",
    ("portal_tokens", ("token_hash",)): "a customer's link is resolved to its shop from the link alone",
    ("portal_tokens", ("short_hash",)): "the printed short code is resolved from the code alone",
    ("photos", ("key",)): "storage keys are unique across the whole bucket (files are shared storage)",
    ("attachments", ("key",)): "storage keys are unique across the whole bucket (files are shared storage)",
    ("esign_packages", ("public_id",)): "the signing page is opened from the public id alone",
    ("esign_documents", ("public_id",)): "a signed document is fetched by its public id alone",
    ("esign_signers", ("public_id",)): "a signer's link is opened from the public id alone",
    ("sms_numbers", ("phone_number",)): "an inbound text finds its shop from the number it was sent to",
    ("sms_webhook_events", ("event_id",)): "provider event ids are deduplicated before the shop is known",
    ("staff_invitations", ("token_hash",)): "an invitation link is resolved to its shop from the link alone",
    ("csi_links", ("token_hash",)): "a survey link in a message is resolved to its shop from the link alone",
    ("accounts_passkeys", ("credential_id",)): "a passkey sign-in names its credential before the shop is "
                                               "known (WebAuthn credential ids are globally unique)",
    ("loyalty_members", ("referral_code",)): "a shared referral link (/plugins/loyalty/r/<code>) finds its shop "
                                             "from the code alone",
    ("scheduling_feeds", ("token_hash",)): "a private calendar feed URL is resolved to its shop from the token alone",
    ("quotes_checkouts", ("provider", "session_ref")): "a payment provider's webhook names its checkout "
                                                       "session before the shop is known",
}
# Unique within a tenant-owned parent (so already per tenant), without the column itself: widen each to
# lead with tenant_id in its plugin's next migration before the tables are distributed.
TO_WIDEN: dict[tuple[str, tuple[str, ...]], str] = {
    ("esign_signatures", ("document_id", "signer_id")): "per document (tenant-owned); widen in esign",
    ("esign_signers", ("package_id", "position")): "per package (tenant-owned); widen in esign",
    ("sms_stage_notices", ("claim_id", "stage_id")): "per claim (tenant-owned); widen in sms",
    ("quotes_lines", ("version_id", "line_no")): "per estimate version (tenant-owned); widen in quotes",
    ("quotes_versions", ("estimate_id", "number")): "per estimate (tenant-owned); widen in quotes",
}


def schema_problems(engine: sa.Engine, allowed: set[tuple[str, tuple[str, ...]]]) -> tuple[list[str], set[Any]]:
    """Problems with the tenant-sharding rules in the database behind ``engine``, and the allowed
    exceptions actually met (to catch stale entries)."""
    insp = inspect(engine)
    problems, met = [], set()
    for table in sorted(insp.get_table_names()):
        if "tenant_id" not in {c["name"] for c in insp.get_columns(table)}:
            continue  # platform table (shops, users, plans, ...)
        indexes = insp.get_indexes(table)
        uniques = [tuple(u["column_names"]) for u in insp.get_unique_constraints(table)]
        uniques += [tuple(i["column_names"]) for i in indexes if i.get("unique")]
        leading = [cols for cols in [tuple(i["column_names"]) for i in indexes] + uniques if cols[0] == "tenant_id"]
        if not leading:
            problems.append(f"{table}: tenant_id has no index leading with it")
        for cols in sorted(set(uniques)):
            if "tenant_id" in cols:
                continue
            if (table, cols) in allowed:
                met.add((table, cols))
                continue
            problems.append(f"{table}: unique {list(cols)} without tenant_id (add tenant_id, or list it in "
                            "tests/test_schema_shape.py with its reason)")
    return problems, met


def test_tenant_owned_tables_stay_shardable(app):
    allowed = set(PLATFORM_WIDE) | set(TO_WIDEN)
    problems, met = schema_problems(get_db(app).engine, allowed)
    assert not problems, "\n".join(problems)
    installed = set(inspect(get_db(app).engine).get_table_names())
    stale = {entry for entry in allowed if entry[0] in installed} - met
    assert not stale, f"listed exceptions no longer in the schema, remove them: {sorted(stale)}"


def test_a_unique_constraint_without_tenant_id_is_caught(app):
    """A throwaway model whose unique constraint forgets tenant_id fails the check, by name; its twin
    with (tenant_id, number) and one without a tenant_id index are judged right too."""
    metadata = sa.MetaData()
    sa.Table("zz_throwaway_bad", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("tenant_id", sa.Integer, index=True), sa.Column("number", sa.String(20)),
             sa.UniqueConstraint("number", name="uq_zz_throwaway_bad_number"))
    sa.Table("zz_throwaway_good", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("tenant_id", sa.Integer), sa.Column("number", sa.String(20)),
             sa.UniqueConstraint("tenant_id", "number", name="uq_zz_throwaway_good_number"))
    sa.Table("zz_throwaway_unindexed", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("tenant_id", sa.Integer))
    engine = get_db(app).engine
    metadata.create_all(engine)  # a test-only table in this test's own database
    try:
        problems, _ = schema_problems(engine, set(PLATFORM_WIDE) | set(TO_WIDEN))
    finally:
        metadata.drop_all(engine)
    assert [p for p in problems if p.startswith("zz_")] == [
        "zz_throwaway_bad: unique ['number'] without tenant_id (add tenant_id, or list it in "
        "tests/test_schema_shape.py with its reason)",
        "zz_throwaway_unindexed: tenant_id has no index leading with it",
    ]
