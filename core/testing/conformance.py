"""Conformance of a plugin to the one-name rules (run it on your plugin in your own tests).

A plugin called ``x`` is distribution ``bayline-x``, package ``bayline_x``, entry
point ``x``, feature key ``x``, blueprints ``plugin_x`` / ``plugin_x_public`` under ``/plugins/x``,
``plugin_x_portal`` under ``/c/s/x``, ``plugin_x_api`` under ``/api/v1/plugins/x`` and
``plugin_x_landing`` with routes under ``/p/`` and ``/g/`` only (the ``plugin_api`` blueprint
factories make them so), Alembic branch label ``x``, tables ``x_*`` carrying ``tenant_id`` (or,
for a group's own rows, a ``group_id`` foreign key to ``groups``), settings ``x.*``, Celery tasks
``bayline_x.*``, shop archive rules naming existing columns of its own ``x_*`` tables; event types are
``EventType`` values with a ``TypedDict`` payload and a "fires" description; and its modules import
nothing of ``bayline`` but ``bayline.plugin_api`` and ``bayline.testing`` (see :mod:`.imports`).
"""
from __future__ import annotations

from typing import Any

from alembic.script import ScriptDirectory
from flask import Flask

from bayline.db import Base
from bayline.migrate import alembic_config

from .imports import forbidden_imports


def check_plugin(app: Flask, name: str) -> list[str]:
    """Every rule ``name`` breaks in ``app`` (empty when it conforms)."""
    registry = app.extensions["bayline.plugins"]
    info = registry.plugins.get(name)
    if info is None:
        return [f"{name}: not installed"]
    if info.state == "broken":
        return [f"{name}: broken: {info.error.strip().splitlines()[-1] if info.error else ''}"]
    problems: list[str] = []
    package = f"bayline_{name}"
    module = registry.pm.get_plugin(name)
    module_name = getattr(module, "__name__", "")
    if module_name != package:
        problems.append(f"{name}: package is {module_name!r}, expected {package!r}")
    # distribution names compare normalised (PEP 503): plugin ai_drafts is bayline-ai-drafts
    if info.distribution and info.distribution.lower().replace("_", "-") != f"bayline-{name}".replace("_", "-"):
        problems.append(f"{name}: distribution is {info.distribution!r}, expected 'bayline-{name}'")
    features = registry.call_collect(registry.hook_of("register_features", name)())
    if name not in {f.key for f in features}:
        problems.append(f"{name}: registers no feature with key {name!r}")
    mounts = {f"plugin_{name}": f"/plugins/{name}", f"plugin_{name}_public": f"/plugins/{name}",
              f"plugin_{name}_portal": f"/c/s/{name}", f"plugin_{name}_api": f"/api/v1/plugins/{name}",
              f"plugin_{name}_landing": ""}
    problems += _check_landing(app, name)
    for bp in app.extensions["bayline.plugin_blueprints"].get(name, []):
        if bp.name not in mounts:
            others = ", ".join(repr(m) for m in list(mounts)[1:])
            problems.append(f"{name}: blueprint {bp.name!r} should be named 'plugin_{name}' (or {others}; "
                            "plugin_api's staff_blueprint, public_blueprint, portal_blueprint, api_blueprint)")
        prefix = bp.url_prefix or ""
        mount = mounts.get(bp.name, f"/plugins/{name}")
        if not prefix.startswith(mount):
            problems.append(f"{name}: blueprint {bp.name!r} mounted at {prefix!r}, not under {mount}")
    problems += [f"{name}: {p}" for p in forbidden_imports(info.package_dir)] if info.package_dir else []
    problems += _check_tables(name, package)
    problems += _check_migrations(app, name, info)
    own_settings = registry.call_collect(registry.hook_of("register_tenant_settings", name)())
    for defn in own_settings:
        if not defn.key.startswith(f"{name}."):
            problems.append(f"{name}: setting {defn.key!r} is outside the '{name}.' namespace")
    for item in registry.call_collect(registry.hook_of("register_event_types", name)()):
        problems += _check_event_type(name, item)
    problems += check_archive_rules(name, registry.call_collect(registry.hook_of("shop_archive_rules", name)()))
    celery = app.extensions.get("celery")
    if celery is not None:
        for task_name, task in celery.tasks.items():
            if getattr(task, "__module__", "").startswith(package) and not task_name.startswith(f"{package}."):
                problems.append(f"{name}: Celery task {task_name!r} should be named '{package}.*'")
    return problems


def _check_landing(app: Flask, name: str) -> list[str]:
    from bayline.plugins.blueprints import LANDING_PATHS

    return [f"{name}: landing route {rule.rule!r} is not under /p/ or /g/"
            for rule in app.url_map.iter_rules()
            if (rule.endpoint or "").startswith(f"plugin_{name}_landing.") and not rule.rule.startswith(LANDING_PATHS)]


def _check_event_type(name: str, item: Any) -> list[str]:
    import typing

    from bayline.plugins.types import EventType

    if not isinstance(item, EventType):
        return [f"{name}: event type {item!r} should be an EventType with a TypedDict payload"]
    if not typing.is_typeddict(item.payload):
        return [f"{name}: event type {item.name!r} payload should be a TypedDict (documents its keys)"]
    if not item.fires:
        return [f"{name}: event type {item.name!r} should say when it fires"]
    return []


def _check_tables(name: str, package: str) -> list[str]:
    problems = []
    for mapper in Base.registry.mappers:
        cls: Any = mapper.class_
        if not cls.__module__.startswith(package):
            continue
        table = mapper.local_table.name
        if not table.startswith(f"{name}_"):
            problems.append(f"{name}: table {table!r} should be prefixed '{name}_'")
        columns = mapper.local_table.c
        group_level = "group_id" in columns and any(fk.column.table.name == "groups"
                                                    for fk in columns["group_id"].foreign_keys)
        if "tenant_id" not in columns and not group_level:
            problems.append(f"{name}: table {table!r} has no tenant_id (mix in bayline.tenancy.TenantScoped) "
                            "nor a group_id foreign key to groups (a group's own rows)")
    return problems


def _check_migrations(app: Flask, name: str, info: Any) -> list[str]:
    has_tables = any(m.class_.__module__.startswith(f"bayline_{name}") for m in Base.registry.mappers)
    if info.migrations_dir is None:
        return [f"{name}: has tables but no migrations/versions directory"] if has_tables else []
    script = ScriptDirectory.from_config(alembic_config(app, name, None))
    labels = set()
    for rev in script.walk_revisions():
        labels |= set(rev.branch_labels or ())
    if name not in labels:
        return [f"{name}: Alembic branch label should be {name!r} (found {sorted(labels) or 'none'})"]
    return []


def check_archive_rules(name: str, rules: list[Any]) -> list[str]:
    """``shop_archive_rules`` results: ``ShopArchiveRules`` naming real columns of the plugin's own
    ``x_*`` tables (and real tables as id targets)."""
    from bayline.plugins.types import ShopArchiveRules

    tables = Base.metadata.tables
    problems: list[str] = []

    def own(table: str) -> bool:
        if not table.startswith(f"{name}_"):
            problems.append(f"{name}: shop_archive_rules names {table!r}, not one of its '{name}_' tables")
            return False
        if table not in tables:
            problems.append(f"{name}: shop_archive_rules names table {table!r}, which does not exist")
            return False
        return True

    def column(ref: str) -> None:
        table, _, col = ref.partition(".")
        if own(table) and col not in tables[table].c:
            problems.append(f"{name}: shop_archive_rules names {ref!r}: no such column")

    for item in rules:
        if not isinstance(item, ShopArchiveRules):
            problems.append(f"{name}: shop_archive_rules returned {item!r}, not ShopArchiveRules")
            continue
        for table in (*item.skip_tables, *item.on_import):
            own(table)
        for ref in (*item.storage_keys, *item.id_columns, *item.json_columns, *item.redact):
            column(ref)
        for ref, target in item.id_columns.items():
            if target not in tables:
                problems.append(f"{name}: shop_archive_rules maps {ref!r} to unknown table {target!r}")
    return problems
