"""Alembic for the core and each plugin: one version table per component.

``upgrade_all`` runs the core's revisions, then every working plugin's, each in
its own version table (``alembic_version`` / ``alembic_version_<plugin>``).
"""
from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

import bayline.migrations as core_migrations
from bayline.db import Base, get_db

CORE = "core"
MIGRATIONS_DIR = Path(core_migrations.__file__).parent


def components(app: Flask) -> dict[str, Path]:
    """Component name → version directory (core first)."""
    found = {CORE: MIGRATIONS_DIR / "versions"}
    for info in app.extensions["bayline.plugins"].working:
        if info.migrations_dir is not None and not info.core:
            found[info.name] = info.migrations_dir
    return found


def version_table(component: str) -> str:
    return "alembic_version" if component == CORE else f"alembic_version_{component}"


def core_tables() -> set[str]:
    """Tables mapped by the core's own modules (``bayline.*``; plugins are ``bayline_*``)."""
    return {m.local_table.name for m in Base.registry.mappers if m.class_.__module__.startswith("bayline.")}


def table_filter(app: Flask, component: str) -> Callable[..., bool]:
    """Which tables a component owns: the core its own, a plugin those prefixed with its name.
    Tables of plugins not installed in this app belong to nobody and are left alone."""
    owned_by_core = core_tables()

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "table":
            table = getattr(obj, "table", None)
            name = table.name if table is not None else name
        if name is None:
            return True
        if name.startswith("alembic_version"):
            return False
        if component == CORE:
            return name in owned_by_core
        return name.startswith(f"{component}_")

    return include


def alembic_config(app: Flask, component: str, connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(components(app)[component]))
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = version_table(component)
    cfg.attributes["include_object"] = table_filter(app, component)
    # autogenerate renders custom column types through the module a component may import
    cfg.attributes["types_module"] = "bayline.db" if component == CORE else "bayline.plugin_api"
    cfg.attributes["user_module_prefix"] = None if component == CORE else "bayline.plugin_api."
    return cfg


def upgrade_all(app: Flask, revision: str = "heads") -> list[str]:
    done = []
    engine = get_db(app).engine
    for component in components(app):
        with engine.begin() as conn:
            command.upgrade(alembic_config(app, component, conn), revision)
        done.append(component)
    return done


def downgrade(app: Flask, component: str, revision: str) -> None:
    with get_db(app).engine.begin() as conn:
        command.downgrade(alembic_config(app, component, conn), revision)


def heads(app: Flask, component: str) -> list[str]:
    cfg = alembic_config(app, component, None)
    return list(ScriptDirectory.from_config(cfg).get_heads())


def current(app: Flask) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with get_db(app).engine.connect() as conn:
        for component in components(app):
            ctx = MigrationContext.configure(conn, opts={"version_table": version_table(component)})
            out[component] = list(ctx.get_current_heads())
    return out


def pending_changes(app: Flask) -> list[Any]:
    """Differences between the models and the migrated database (should be empty)."""
    diffs: list[Any] = []
    with get_db(app).engine.connect() as conn:
        for component in components(app):
            ctx = MigrationContext.configure(conn, opts={
                "include_object": table_filter(app, component), "compare_type": True})
            diffs.extend(compare_metadata(ctx, Base.metadata))
    return diffs


def revision(app: Flask, component: str, message: str, autogenerate: bool = True) -> None:
    """Write a new revision for ``component`` (developer tool)."""
    engine = get_db(app).engine
    with engine.connect() as conn:
        cfg = alembic_config(app, component, conn)
        kwargs: dict[str, Any] = {"message": message, "autogenerate": autogenerate,
                                  "version_path": str(components(app)[component])}
        if not heads(app, component):
            kwargs["head"] = "base"
            kwargs["branch_label"] = component if component != CORE else None
        command.revision(cfg, **kwargs)


def first_plugin_revision(project: Path, name: str, *, keep_loaded: bool = False) -> Path:
    """Autogenerate the first revision of plugin ``name`` whose project folder is ``project`` (its
    package ``bayline_<name>`` with an empty ``migrations/versions``), from its models, against a
    throwaway SQLite database migrated to the heads of the core and the installed plugins. Returns
    the revision file (branch label ``name``, its own version table like every plugin's).

    The package's tables join the process's metadata when it is imported; ``keep_loaded`` leaves
    the package imported (a test that goes on to use it), otherwise it is forgotten again."""
    from bayline import create_app

    package = f"bayline_{name}"
    versions = project / package / "migrations" / "versions"
    sys.path.insert(0, str(project))
    try:
        module = importlib.import_module(package)
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"database_url": f"sqlite:///{tmp}/first_revision.db", "env": "test",
                              "instance_dir": Path(tmp) / "instance"}, plugins=[(name, module)])
            try:
                upgrade_all(app)
                revision(app, name, f"{name} tables")
            finally:
                get_db(app).dispose()
    finally:
        sys.path.remove(str(project))
        for loaded in [m for m in sys.modules if not keep_loaded and (m == package or m.startswith(package + "."))]:
            del sys.modules[loaded]
    (path,) = versions.glob("*.py")
    return path
