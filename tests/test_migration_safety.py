"""Migrations are safe to run while the previous release serves (expand/contract, issue 19 item 5).

Each revision's ``upgrade()`` (core and every bundled plugin) is read as Python source and checked for
operations that lock or rewrite an existing table in PostgreSQL, or break the code still running:

- ``alter_column(..., type_=...)`` (a table rewrite) or ``alter_column(..., nullable=False)`` (a full scan
  under an exclusive lock);
- ``add_column`` of a ``NOT NULL`` column without ``server_default`` (fails on a non-empty table, and the
  old code does not write it);
- ``drop_column`` / ``drop_table`` in an upgrade (a contract step: the old code still reads it);
- ``create_index`` / ``create_unique_constraint`` / ``create_foreign_key`` on a table the same revision did
  not create (an index without ``postgresql_concurrently=True``): it blocks writes while it builds.

A revision that needs one says why in ``REVIEWED`` (or, for a new revision, in a comment
``# online-safety: <why>`` inside its ``upgrade()``); a stale entry fails too.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION_DIRS = [ROOT / "migrations" / "versions", *sorted(ROOT.glob("plugins/*/bayline_*/migrations/versions"))]
REVIEWED: dict[str, str] = {
    "5c1e7a2b9d40": "customer links v2: one index and one unique constraint on portal_tokens, built in the "
                    "same short lock as its new columns (a few rows per claim); reviewed before 1.0",
    "a8380ba39b6f": "esign signers: the esign tables were new and empty in every deployment when it shipped",
    "cc9b35faa9c7": "sms media retries: sms tables were small when it shipped; constraints added in place",
    "d41e7a0c5b92": "sms texts and consent move to the core outbox: rows are copied into the core tables in "
                    "the same transaction, then the two sms tables are dropped; run with the old code stopped "
                    "(the old code writes to the dropped tables)",
}


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _str_arg(call: ast.Call, index: int) -> str | None:
    if len(call.args) > index and isinstance(call.args[index], ast.Constant):
        return str(call.args[index].value)
    return None


def unsafe_operations(source: str) -> list[str]:
    """What is unsafe in the ``upgrade()`` of one revision's source (empty when nothing is)."""
    tree = ast.parse(source)
    upgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if upgrade is None:
        return []
    created = {_str_arg(c, 0) for c in ast.walk(upgrade) if isinstance(c, ast.Call)
               and isinstance(c.func, ast.Attribute) and c.func.attr == "create_table"}
    problems = []

    def batch_table(node: ast.AST) -> str | None:
        for parent in ast.walk(upgrade):
            if isinstance(parent, ast.With) and any(node in ast.walk(s) for s in parent.body):
                for item in parent.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "batch_alter_table":
                        return _str_arg(call, 0)
        return None

    for call in ast.walk(upgrade):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        op, line = call.func.attr, call.lineno
        table = batch_table(call)
        if op == "alter_column" and (_kw(call, "type_") is not None or _is_false(_kw(call, "nullable"))):
            problems.append(f"line {line}: alter_column rewrites or scans the table")
        elif op == "add_column":
            column = next((a for a in call.args if isinstance(a, ast.Call)), None)
            if column is not None and _is_false(_kw(column, "nullable")) and _kw(column, "server_default") is None:
                problems.append(f"line {line}: add_column NOT NULL without server_default")
        elif op in ("drop_column", "drop_table"):
            problems.append(f"line {line}: {op} in an upgrade (contract step)")
        elif op in ("create_index", "create_unique_constraint", "create_foreign_key"):
            target = table or _str_arg(call, 1)
            if target not in created and not _is_true(_kw(call, "postgresql_concurrently")):
                problems.append(f"line {line}: {op} on existing table {target!r} locks writes while it builds")
    return problems


def revisions() -> dict[str, tuple[Path, str]]:
    out = {}
    for folder in VERSION_DIRS:
        for path in sorted(folder.glob("*.py")):
            source = path.read_text()
            tree = ast.parse(source)
            rev = next(n.value.value for n in tree.body if isinstance(n, ast.Assign)
                       and getattr(n.targets[0], "id", "") == "revision")
            out[rev] = (path, source)
    return out


def test_every_migration_is_safe_online_or_reviewed():
    found = revisions()
    assert len(found) >= 8  # core and the bundled plugins were all read
    problems, needed = [], set()
    for rev, (path, source) in found.items():
        unsafe = unsafe_operations(source)
        if not unsafe:
            continue
        needed.add(rev)
        if rev in REVIEWED or "# online-safety:" in source:
            continue
        problems += [f"{path.relative_to(ROOT)} ({rev}): {p}" for p in unsafe]
    assert not problems, "\n".join(problems)
    assert not set(REVIEWED) - needed, f"stale REVIEWED entries: {sorted(set(REVIEWED) - needed)}"


def test_the_check_catches_a_table_rewrite_and_passes_an_expand_step():
    risky = '''
def upgrade():
    op.alter_column("claims", "number", type_=sa.String(80))
    op.add_column("claims", sa.Column("x", sa.Integer(), nullable=False))
    op.create_index("ix_claims_x", "claims", ["x"])
    op.drop_column("claims", "vin")
'''
    assert [p.split(": ", 1)[1] for p in unsafe_operations(risky)] == [
        "alter_column rewrites or scans the table", "add_column NOT NULL without server_default",
        "create_index on existing table 'claims' locks writes while it builds",
        "drop_column in an upgrade (contract step)"]
    expand = '''
def upgrade():
    op.create_table("things", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_index("ix_things_id", "things", ["id"])
    op.add_column("claims", sa.Column("x", sa.Integer(), nullable=True))
    op.add_column("claims", sa.Column("y", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_claims_x", "claims", ["x"], postgresql_concurrently=True)
'''
    assert unsafe_operations(expand) == []
