"""Shop archives: one shop's rows (core and plugins) and stored files in one zip, restorable into another
deployment (``flask bayline export-shop`` / ``flask bayline import-shop``; see docs/operations.md).

Which tables travel is read from the SQLAlchemy metadata, not from a list: ``shops``, every table with
a foreign key to it (``tenant_id``), and every table reached from those through declared foreign keys.
What the schema cannot say comes from the ``shop_archive_rules`` hook (core and plugins): tables to
skip, storage-key columns, id columns without a foreign key, ids and keys inside JSON, secrets.

The archive::

    manifest.json        format, version, the alembic revisions of core and every plugin, tables and
                         their columns and row counts, files with size and SHA-256, what was left out
    rows/<table>.json    the table's rows (datetimes ISO 8601, bytes base64, decimals as strings)
    people.json          the staff users the rows name (email, name, active; never password hashes)
                         and the shop's group with its group admins
    files/<key>          every stored object of the shop (photos, attachments, signed PDFs, ...)

Import runs in one database transaction: new primary keys, every foreign key (and every id the
rules name) remapped, storage keys rewritten under the new shop; files are written before the
commit and deleted again when anything fails, so a refused import leaves nothing behind.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import JSON, Connection, LargeBinary, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator

from bayline import migrate
from bayline.db import Base, get_db, utcnow
from bayline.plugins.calling import collect
from bayline.plugins.types import JsonRewriter, RowFix, ShopArchiveRules
from bayline.storage import FileMissing, get_storage

FORMAT = "bayline-shop-archive"
FORMAT_VERSION = 1
CHUNK = 500
_KEY_BASE = re.compile(r"^t\d+/([A-Za-z0-9_-]+)/([0-9a-f]{8,64})(/.*)?$")
# Tables outside the shop that carried rows may name: matched on import, never copied.
PEOPLE = ("users", "groups")


class ArchiveError(Exception):
    """A refusal, with a message for the operator; nothing was written."""


# ------------------------------------------------------------------------------------------- rules


@dataclass
class Rules:
    """Every plugin's :class:`ShopArchiveRules`, merged (``table.column`` split into pairs)."""

    skip: set[str] = field(default_factory=set)
    storage_keys: set[tuple[str, str]] = field(default_factory=set)
    id_columns: dict[tuple[str, str], str] = field(default_factory=dict)
    json_columns: dict[tuple[str, str], JsonRewriter] = field(default_factory=dict)
    redact: set[tuple[str, str]] = field(default_factory=set)
    on_import: dict[str, list[RowFix]] = field(default_factory=lambda: defaultdict(list))

    def columns_of(self, table: str) -> set[str]:
        """Columns of ``table`` rewritten after every row is in (ids they name may come later)."""
        return ({c for t, c in self.id_columns if t == table} | {c for t, c in self.json_columns if t == table})


def _pair(name: str) -> tuple[str, str]:
    table, _, column = name.partition(".")
    if not table or not column:
        raise ValueError(f"shop_archive_rules names {name!r}; use 'table.column'")
    return table, column


def collect_rules(app: Flask) -> Rules:
    registry = app.extensions["bayline.plugins"]
    rules = Rules()
    for item in collect(registry.hook.shop_archive_rules):
        if not isinstance(item, ShopArchiveRules):
            raise TypeError(f"shop_archive_rules returned {item!r}, not ShopArchiveRules")
        rules.skip.update(item.skip_tables)
        rules.storage_keys.update(_pair(n) for n in item.storage_keys)
        rules.id_columns.update({_pair(n): t for n, t in item.id_columns.items()})
        rules.json_columns.update({_pair(n): fn for n, fn in item.json_columns.items()})
        rules.redact.update(_pair(n) for n in item.redact)
        for table, fix in item.on_import.items():
            rules.on_import[table].append(fix)
    return rules


# ------------------------------------------------------------------------------------------ tables


def _owned_tables(app: Flask) -> dict[str, str]:
    """Table → component (``core`` or the plugin) for every table of this app's installed code."""
    core = migrate.core_tables()
    plugins = [info.name for info in app.extensions["bayline.plugins"].working if not info.core]
    owned: dict[str, str] = {}
    for name in Base.metadata.tables:
        if name in core:
            owned[name] = migrate.CORE
            continue
        for plugin in plugins:
            if name.startswith(f"{plugin}_"):
                owned[name] = plugin
    return owned


def carried_tables(app: Flask, rules: Rules) -> list[Table]:
    """``shops``, the tables pointing at it, and the tables reached from those through foreign keys
    (skipping what the rules skip), parents before children."""
    owned = _owned_tables(app)
    tables = {n: t for n, t in Base.metadata.tables.items() if n in owned and n not in rules.skip}
    carried = {"shops"}
    grew = True
    while grew:
        grew = False
        for name, table in tables.items():
            if name in carried or name in PEOPLE:
                continue
            if any(fk.column.table.name in carried for fk in table.foreign_keys):
                carried.add(name)
                grew = True
    return [t for t in Base.metadata.sorted_tables if t.name in carried]


def _int_pk(table: Table) -> str | None:
    pk = list(table.primary_key.columns)
    if len(pk) == 1 and pk[0].type.python_type is int:
        return pk[0].name
    return None


# ------------------------------------------------------------------------------------------ values


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _decoder(column: Any) -> Callable[[Any], Any]:
    if isinstance(column.type, JSON):
        return lambda v: v
    if isinstance(column.type, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    kind_of = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    try:
        kind = kind_of.python_type
    except NotImplementedError:
        return lambda v: v
    if kind is datetime:
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if kind is date:
        return lambda v: None if v is None else date.fromisoformat(v)
    if kind is Decimal:
        return lambda v: None if v is None else Decimal(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    return lambda v: v


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


# ------------------------------------------------------------------------------------------ remaps


class _Collecting:
    """The export's remap: ids unchanged, every key asked about remembered."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def id(self, table: str, old: Any) -> int | None:
        return old

    def key(self, old: str) -> str:
        if old:
            self.keys.add(old)
        return old


class _Remap:
    """The import's remap: old id → new id per table; old storage key → a fresh key of the new shop."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[int, int]] = defaultdict(dict)
        self.tenant_id: int | None = None
        self._bases: dict[str, str] = {}

    def id(self, table: str, old: Any) -> int | None:
        try:
            return self.ids[table].get(int(old))
        except (TypeError, ValueError):
            return None

    def key(self, old: str) -> str:
        if not old:
            return old
        match = _KEY_BASE.match(old)
        base, rest = (old[:match.start(3)] if match.group(3) else old, match.group(3) or "") if match else (old, "")
        if base not in self._bases:
            kind = match.group(1) if match else "imported"
            self._bases[base] = f"t{self.tenant_id}/{kind}/{secrets.token_hex(16)}"
        return self._bases[base] + rest


# ------------------------------------------------------------------------------------------ export


@dataclass
class ExportSummary:
    path: Path
    shop: str
    rows: dict[str, int]
    files: int
    users: int


def _where_ids(conn: Connection, table: Table, column: str, ids: Iterable[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(ids))):
        rows.extend(dict(r._mapping) for r in conn.execute(select(table).where(table.c[column].in_(chunk))))
    return rows


def _object_keys(storage: Any, key: str) -> list[str]:
    found = [key] if storage.exists(key) else []
    return found + list(storage.keys(key.rstrip("/") + "/"))


def export_shop(app: Flask, slug: str, out: Path) -> ExportSummary:
    """Write shop ``slug``'s archive to ``out`` (refuses to overwrite a file)."""
    out = Path(out)
    if out.exists():
        raise ArchiveError(f"{out} exists; choose another --out (an archive is never overwritten)")
    rules = collect_rules(app)
    tables = carried_tables(app, rules)
    carried = {t.name for t in tables}
    for table in tables:  # every reference out of the shop must be one the import can resolve
        for fk in table.foreign_keys:
            ref = fk.column.table
            if ref.name not in carried and ref.name not in PEOPLE and _int_pk(ref) is not None:
                raise ArchiveError(f"{table.name}.{fk.parent.name} refers to {ref.name}, which is not part of a "
                                   f"shop; its plugin must skip the table in shop_archive_rules")
    storage = get_storage(app)
    engine = get_db(app).engine
    rows: dict[str, list[dict[str, Any]]] = {}
    collecting = _Collecting()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for every table
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            shops = Base.metadata.tables["shops"]
            shop = conn.execute(select(shops).where(shops.c.slug == slug)).mappings().first()
            if shop is None:
                raise ArchiveError(f"no shop {slug!r}")
            ids: dict[str, set[int]] = {"shops": {shop["id"]}}
            for table in tables:
                if table.name == "shops":
                    found = [dict(shop)]
                else:
                    found_by: dict[Any, dict[str, Any]] = {}
                    pk = [c.name for c in table.primary_key.columns]
                    # a tenant table by its shop column; a child table by every carried parent it names
                    by_shop = [fk for fk in table.foreign_keys if fk.column.table.name == "shops"]
                    for fk in by_shop or table.foreign_keys:
                        parent = fk.column.table.name
                        if parent in carried and parent != table.name and ids.get(parent):
                            for row in _where_ids(conn, table, fk.parent.name, ids[parent]):
                                found_by[tuple(row[c] for c in pk)] = row
                    found = [found_by[k] for k in sorted(found_by)]
                id_col = _int_pk(table)
                ids[table.name] = {r[id_col] for r in found} if id_col else set()
                for row in found:
                    for t, column in rules.redact:
                        if t == table.name:
                            row[column] = None
                    for t, column in rules.storage_keys:
                        if t == table.name and row.get(column):
                            collecting.key(row[column])
                    for (t, column), rewrite in rules.json_columns.items():
                        if t == table.name:
                            rewrite(row.get(column), row, collecting)
                rows[table.name] = found
            user_ids = {row[fk.parent.name] for table in tables for fk in table.foreign_keys
                        if fk.column.table.name == "users" for row in rows[table.name]
                        if row.get(fk.parent.name) is not None}
            groups, users_t = Base.metadata.tables["groups"], Base.metadata.tables["users"]
            gm = Base.metadata.tables["group_memberships"]
            group = dict(conn.execute(select(groups).where(groups.c.id == shop["group_id"])).mappings().one())
            admins = [dict(r) for r in conn.execute(select(gm).where(gm.c.group_id == group["id"])).mappings()]
            user_ids |= {a["user_id"] for a in admins}
            users = [{"id": u["id"], "email": u["email"], "name": u["name"], "is_active": u["is_active"]}
                     for u in _where_ids(conn, users_t, "id", user_ids)]
            heads = migrate.current(app)
    files: dict[str, dict[str, Any]] = {}
    tmp = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for key in sorted(collecting.keys):
                for obj in _object_keys(storage, key):
                    if obj in files:
                        continue
                    try:
                        data = storage.get(obj)
                    except FileMissing:
                        continue
                    zf.writestr(f"files/{obj}", data)
                    files[obj] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            owned = _owned_tables(app)
            manifest_tables = {}
            for table in tables:
                encoded = [{k: _encode(v) for k, v in row.items()} for row in rows[table.name]]
                zf.writestr(f"rows/{table.name}.json", json.dumps(encoded))
                manifest_tables[table.name] = {"component": owned[table.name], "rows": len(encoded),
                                               "columns": [c.name for c in table.columns]}
            people = {"users": users, "group": {k: _encode(v) for k, v in group.items()},
                      "group_admins": [{"user_id": a["user_id"], "role": a["role"]} for a in admins]}
            zf.writestr("people.json", json.dumps(people))
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "created_at": utcnow().isoformat(),
                "shop": {"id": shop["id"], "slug": shop["slug"], "name": shop["name"]}, "heads": heads,
                "tables": manifest_tables, "files": files,
                "left_out": {"password_hashes": "never exported: imported users set a password by reset link",
                             "redacted": sorted(f"{t}.{c}" for t, c in rules.redact),
                             "skipped_tables": sorted(rules.skip)},
            }
            zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportSummary(out, slug, {n: len(r) for n, r in rows.items()}, len(files), len(users))


# ------------------------------------------------------------------------------------------ import


@dataclass
class ImportSummary:
    shop_id: int
    slug: str
    rows: dict[str, int]
    files: int
    users_matched: list[str]
    users_created: list[str]


def _read_archive(path: Path) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ArchiveError(f"no file {path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path} is not a shop archive (not a zip file: {exc})") from None
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        zf.close()
        raise ArchiveError(f"{path} is not a shop archive (no manifest.json)") from None
    except (ValueError, zipfile.BadZipFile) as exc:
        zf.close()
        raise ArchiveError(f"corrupt archive: manifest.json unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        zf.close()
        raise ArchiveError(f"{path} is not a shop archive (format is not {FORMAT!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        zf.close()
        raise ArchiveError(f"archive format version {manifest.get('format_version')!r} is not supported here "
                           f"(this release reads version {FORMAT_VERSION}); import it with a matching release")
    return zf, manifest


def _member(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        raise ArchiveError(f"corrupt archive: {name} is missing") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC mismatch, truncated member
        raise ArchiveError(f"corrupt archive: {name} cannot be read ({exc})") from None


def _json_member(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(_member(zf, name))
    except ValueError as exc:
        raise ArchiveError(f"corrupt archive: {name} is not valid JSON ({exc})") from None


def check_heads(app: Flask, archived: dict[str, list[str]], used: set[str]) -> None:
    """Refuse an archive written by a newer schema than this database's (per component)."""
    here = migrate.current(app)
    for component, revisions in sorted(archived.items()):
        if component not in migrate.components(app):
            if component in used:
                raise ArchiveError(f"the archive holds rows of plugin {component!r}, which is not installed here; "
                                   f"install it (and run `flask db upgrade`) first")
            continue
        script = ScriptDirectory.from_config(migrate.alembic_config(app, component, None))
        known_here = set()
        for head in here.get(component, []):
            known_here |= {rev.revision for rev in script.iterate_revisions(head, "base")}
        for revision in revisions:
            try:
                script.get_revision(revision)
            except Exception:
                raise ArchiveError(f"the archive's {component} schema is at revision {revision}, newer than this "
                                   f"release knows; upgrade Bayline here first") from None
            if revision not in known_here:
                raise ArchiveError(f"the archive's {component} schema is at revision {revision}, newer than this "
                                   f"database ({', '.join(here.get(component, [])) or 'empty'}); run "
                                   f"`flask db upgrade` first")


def import_shop(app: Flask, path: Path, slug: str | None = None, group_slug: str | None = None) -> ImportSummary:
    """Restore the archive at ``path`` as a new shop (``slug`` renames it; ``group_slug`` puts it in an
    existing group instead of recreating the archived one). All or nothing."""
    zf, manifest = _read_archive(Path(path))
    with zf:
        return _import(app, zf, manifest, slug, group_slug)


def _import(app: Flask, zf: zipfile.ZipFile, manifest: dict[str, Any], slug: str | None,
            group_slug: str | None) -> ImportSummary:
    rules = collect_rules(app)
    owned = _owned_tables(app)
    archived_tables: dict[str, Any] = manifest.get("tables") or {}
    if "shops" not in archived_tables:
        raise ArchiveError("corrupt archive: the manifest lists no shops table")
    used = {info.get("component") for info in archived_tables.values() if info.get("rows")}
    check_heads(app, manifest.get("heads") or {}, {c for c in used if c})
    meta = Base.metadata.tables
    for name, info in archived_tables.items():
        if name not in owned:
            raise ArchiveError(f"the archive holds table {name} ({info.get('component')}), unknown here; install "
                               f"the plugin it belongs to first")
        extra = set(info.get("columns") or []) - set(meta[name].c.keys())
        if extra:
            raise ArchiveError(f"the archive's {name} has columns this database lacks ({', '.join(sorted(extra))}); "
                               f"upgrade Bayline here first")
    rows = {name: _json_member(zf, f"rows/{name}.json") for name in archived_tables}
    for name, found in rows.items():
        if not isinstance(found, list) or len(found) != archived_tables[name].get("rows"):
            expected = archived_tables[name].get("rows")
            raise ArchiveError(f"corrupt archive: rows/{name}.json does not hold the {expected} rows the manifest "
                               f"lists")
    if len(rows["shops"]) != 1:
        raise ArchiveError("corrupt archive: it must hold exactly one shop")
    people = _json_member(zf, "people.json")
    files: dict[str, dict[str, Any]] = manifest.get("files") or {}
    blobs: dict[str, bytes] = {}
    for key, info in files.items():
        data = _member(zf, f"files/{key}")
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            raise ArchiveError(f"corrupt archive: file {key} does not match its SHA-256")
        blobs[key] = data

    storage = get_storage(app)
    written: list[str] = []
    remap = _Remap()
    summary = ImportSummary(0, "", {}, 0, [], [])
    try:
        with get_db(app).engine.begin() as conn:
            _insert_people(conn, remap, people, group_slug, summary)
            order = [t for t in Base.metadata.sorted_tables if t.name in rows]
            position = {t.name: i for i, t in enumerate(order)}
            deferred: list[tuple[Table, str, int, Any]] = []  # (table, column, new id, old value)
            later: list[tuple[Table, int, dict[str, Any]]] = []  # rows whose rule columns wait for every id
            rows_by_id: dict[str, dict[int, dict[str, Any]]] = {}
            for table in order:
                source = rows[table.name]
                if table.name == "shops":
                    source = [{**source[0], "slug": slug or source[0]["slug"]}]
                    _check_shop(conn, source[0])
                inserted = _insert_table(conn, table, source, rules, remap, position, deferred)
                rows_by_id[table.name] = dict(inserted)
                for new_id, row in inserted:
                    if rules.columns_of(table.name):
                        later.append((table, new_id, row))
                if table.name == "shops":
                    remap.tenant_id = next(iter(remap.ids["shops"].values()))
                summary.rows[table.name] = len(source)
            for table, column, new_id, old in deferred:
                ref = next(fk.column.table.name for fk in table.c[column].foreign_keys)
                values = {column: remap.id(ref, old), **_kept_onupdate(table, rows_by_id[table.name][new_id])}
                conn.execute(update(table).where(table.c[_int_pk(table)] == new_id).values(values))
            for table, new_id, row in later:
                values: dict[str, Any] = {}
                for (t, column), ref in rules.id_columns.items():
                    if t == table.name and row.get(column) is not None:
                        values[column] = remap.id(ref, row[column])
                for (t, column), rewrite in rules.json_columns.items():
                    if t == table.name:
                        values[column] = rewrite(row.get(column), row, remap)
                if values:
                    values.update(_kept_onupdate(table, row))
                    conn.execute(update(table).where(table.c[_int_pk(table)] == new_id).values(values))
            for key, data in blobs.items():
                new_key = remap.key(key)
                written.append(new_key)
                storage.put(new_key, data, _content_type(key))
            summary.shop_id, summary.files = remap.tenant_id or 0, len(blobs)
            summary.slug = slug or rows["shops"][0]["slug"]
    except IntegrityError as exc:
        _undo(storage, written)
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ArchiveError(f"the archive clashes with rows already in this database ({detail}); nothing was "
                           f"imported") from None
    except BaseException:
        _undo(storage, written)
        raise
    return summary


def _kept_onupdate(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Columns with an ``onupdate`` (``updated_at``) keep their archived value through our own updates."""
    return {c.name: _decoder(c)(row.get(c.name)) for c in table.columns if c.onupdate is not None and c.name in row}


def _undo(storage: Any, written: list[str]) -> None:
    for key in written:
        try:
            storage.delete(key)
        except Exception:  # best effort: the database side rolled back already
            pass


def _content_type(key: str) -> str:
    import mimetypes

    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _check_shop(conn: Connection, shop: dict[str, Any]) -> None:
    shops, plans = Base.metadata.tables["shops"], Base.metadata.tables["plans"]
    if conn.execute(select(shops.c.id).where(shops.c.slug == shop["slug"])).first() is not None:
        raise ArchiveError(f"a shop with slug {shop['slug']!r} exists here; pass --slug NEW")
    if conn.execute(select(plans.c.key).where(plans.c.key == shop["plan_key"])).first() is None:
        raise ArchiveError(f"this deployment has no plan {shop['plan_key']!r}; create it first")


def _insert_people(conn: Connection, remap: _Remap, people: Any, group_slug: str | None,
                   summary: ImportSummary) -> None:
    """Users matched by email (created without a password when new); the group: the named one, or
    the archived one recreated with its group admins."""
    if not isinstance(people, dict) or not isinstance(people.get("users"), list) or "group" not in people:
        raise ArchiveError("corrupt archive: people.json does not hold users and the group")
    users, groups = Base.metadata.tables["users"], Base.metadata.tables["groups"]
    for user in people["users"]:
        found = conn.execute(select(users.c.id).where(users.c.email == user["email"])).scalar()
        if found is None:
            found = conn.execute(insert(users).values(email=user["email"], name=user["name"], password_hash=None,
                                                      is_active=bool(user.get("is_active", True)),
                                                      is_platform_admin=False).returning(users.c.id)).scalar_one()
            summary.users_created.append(user["email"])
        else:
            summary.users_matched.append(user["email"])
        remap.ids["users"][int(user["id"])] = found
    group = people["group"]
    if group_slug:
        found = conn.execute(select(groups.c.id).where(groups.c.slug == group_slug)).scalar()
        if found is None:
            raise ArchiveError(f"no group {group_slug!r} here")
        remap.ids["groups"][int(group["id"])] = found
        return
    if conn.execute(select(groups.c.id).where(groups.c.slug == group["slug"])).first() is not None:
        raise ArchiveError(f"a group with slug {group['slug']!r} exists here; pass --group {group['slug']} to add "
                           f"the shop to it, or --group with another group's slug")
    new_group = conn.execute(insert(groups).values(name=group["name"], slug=group["slug"], kind=group["kind"],
                                                   created_at=datetime.fromisoformat(group["created_at"]))
                             .returning(groups.c.id)).scalar_one()
    remap.ids["groups"][int(group["id"])] = new_group
    gm = Base.metadata.tables["group_memberships"]
    for admin in people.get("group_admins") or []:
        user_id = remap.id("users", admin["user_id"])
        if user_id is not None:
            conn.execute(insert(gm).values(group_id=new_group, user_id=user_id, role=admin["role"]))


def _insert_table(conn: Connection, table: Table, source: list[dict[str, Any]], rules: Rules, remap: _Remap,
                  position: dict[str, int], deferred: list[tuple[Table, str, int, Any]]
                  ) -> list[tuple[int, dict[str, Any]]]:
    """Insert ``source`` rows of ``table`` with new ids; returns (new id, archived row) pairs."""
    if not source:
        return []
    id_col = _int_pk(table)
    decoders = {c.name: _decoder(c) for c in table.columns}
    fks = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    keys = {c for t, c in rules.storage_keys if t == table.name}
    prepared: list[dict[str, Any]] = []
    forward: list[list[tuple[str, Any]]] = []
    for raw in source:
        if not isinstance(raw, dict):
            raise ArchiveError(f"corrupt archive: a row of {table.name} is not an object")
        unknown = set(raw) - set(decoders)
        if unknown:
            raise ArchiveError(f"corrupt archive: {table.name} rows have unknown columns {sorted(unknown)}")
        row = {k: decoders[k](v) for k, v in raw.items() if k != id_col}
        later: list[tuple[str, Any]] = []
        for column, ref in fks.items():
            old = row.get(column)
            if old is None:
                continue
            if ref in position and position[ref] >= position[table.name]:  # a cycle or a self-reference
                if not table.c[column].nullable:
                    raise ArchiveError(f"{table.name}.{column} refers forward to {ref} and is NOT NULL")
                later.append((column, old))
                row[column] = None
            elif ref in position or ref in PEOPLE:
                row[column] = remap.id(ref, old)
                if row[column] is None and not table.c[column].nullable:
                    raise ArchiveError(f"corrupt archive: {table.name}.{column}={old} names no {ref} row of the "
                                       f"archive")
            # else: a natural key outside the shop (plans.key ...), kept; the database checks it exists
        for column in keys:
            if row.get(column):
                row[column] = remap.key(row[column])
        for fix in rules.on_import.get(table.name, []):
            row = fix(row)
        prepared.append(row)
        forward.append(later)
    columns = set().union(*(r.keys() for r in prepared))
    prepared = [{c: r.get(c) for c in columns} for r in prepared]
    if id_col is None:
        conn.execute(insert(table), prepared)
        return []
    result = conn.execute(insert(table).returning(table.c[id_col], sort_by_parameter_order=True), prepared)
    new_ids = [r[0] for r in result]
    out: list[tuple[int, dict[str, Any]]] = []
    for raw, new_id, later in zip(source, new_ids, forward, strict=True):
        remap.ids[table.name][int(raw[id_col])] = new_id
        deferred.extend((table, column, new_id, old) for column, old in later)
        out.append((new_id, raw))
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the archive at ``path`` (checked to be a shop archive)."""
    zf, manifest = _read_archive(Path(path))
    zf.close()
    return manifest

