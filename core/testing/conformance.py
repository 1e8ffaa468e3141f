"""Conformance of a plugin to the one-name rules (run it on your plugin in your own tests).

A plugin called ``x`` is distribution ``bayline-x``, package ``bayline_x``, entry
point ``x``, feature key ``x``, blueprints ``plugin_x`` / ``plugin_x_public`` under ``/plugins/x``,
``plugin_x_portal`` under ``/c/s/x`` and ``plugin_x_api`` under ``/api/v1/plugins/x`` (the
``plugin_api`` blueprint factories make them so), Alembic branch label ``x``, tables ``x_*``
carrying ``tenant_id``, settings ``x.*``, Celery tasks ``bayline_x.*``, and its modules import
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
    if info.distribution and info.distribution.lower().replace("_", "-") != f"bayline-{name}":
        problems.append(f"{name}: distribution is {info.distribution!r}, expected 'bayline-{name}'")
    features = registry.call_collect(registry.hook_of("register_features", name)())
    if name not in {f.key for f in features}:
        problems.append(f"{name}: registers no feature with key {name!r}")
    mounts = {f"plugin_{name}": f"/plugins/{name}", f"plugin_{name}_public": f"/plugins/{name}",
              f"plugin_{name}_portal": f"/c/s/{name}", f"plugin_{name}_api": f"/api/v1/plugins/{name}"}
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
    celery = app.extensions.get("celery")
    if celery is not None:
        for task_name, task in celery.tasks.items():
            if getattr(task, "__module__", "").startswith(package) and not task_name.startswith(f"{package}."):
                problems.append(f"{name}: Celery task {task_name!r} should be named '{package}.*'")
    return problems


def _check_tables(name: str, package: str) -> list[str]:
    problems = []
    for mapper in Base.registry.mappers:
        cls: Any = mapper.class_
        if not cls.__module__.startswith(package):
            continue
        table = mapper.local_table.name
        if not table.startswith(f"{name}_"):
            problems.append(f"{name}: table {table!r} should be prefixed '{name}_'")
        if "tenant_id" not in mapper.local_table.c:
            problems.append(f"{name}: table {table!r} has no tenant_id (mix in bayline.tenancy.TenantScoped)")
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
