"""The conformance check passes for conformant plugins and names each broken rule."""
from __future__ import annotations

import secrets
import textwrap

import pytest

from bayline import create_app
from bayline.db import get_db
from bayline.testing.conformance import check_plugin
from bayline.testing.packaging import forget_modules, install_plugin_copy, write_dist_info


def test_every_installed_plugin_conforms(app):
    registry = app.extensions["bayline.plugins"]
    for info in registry.feature_plugins:
        assert check_plugin(app, info.name) == [], info.name


@pytest.fixture
def name():
    value = "c" + secrets.token_hex(3)
    yield value
    forget_modules(f"bayline_{value}")


def test_template_plugin_conforms(database_url, tmp_path, monkeypatch, name):
    monkeypatch.syspath_prepend(str(install_plugin_copy(tmp_path / "site", name)))
    app = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i"})
    assert check_plugin(app, name) == []
    get_db(app).dispose()


def test_rule_breaking_plugin_is_reported(database_url, tmp_path, monkeypatch, name):
    root = tmp_path / "site"
    pkg = root / f"bayline_{name}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        from flask import Blueprint
        from sqlalchemy import String
        from sqlalchemy.orm import Mapped, mapped_column
        from bayline import Feature, SettingDef, hookimpl
        from bayline.db import Base

        class Loose(Base):
            __tablename__ = "loose_{name}"
            id: Mapped[int] = mapped_column(primary_key=True)
            note: Mapped[str] = mapped_column(String(20))

        bp = Blueprint("{name}_views", __name__, url_prefix="/{name}")

        @hookimpl
        def register_features():
            return [Feature("something_else", "Wrong key")]

        @hookimpl
        def register_blueprints(app):
            return [bp]

        @hookimpl
        def register_tenant_settings():
            return [SettingDef("global.colour", "Colour")]
    """))
    write_dist_info(root, name, f"bayline_{name}")
    monkeypatch.syspath_prepend(str(root))
    app = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i"})
    problems = "\n".join(check_plugin(app, name))
    assert f"registers no feature with key '{name}'" in problems
    assert f"blueprint '{name}_views' should be named 'plugin_{name}'" in problems
    assert f"mounted at '/{name}'" in problems
    assert f"table 'loose_{name}' should be prefixed '{name}_'" in problems
    assert "has no tenant_id" in problems
    assert "has tables but no migrations/versions directory" in problems
    assert "setting 'global.colour' is outside" in problems
    assert f"bayline_{name}/__init__.py:5 imports bayline.Feature" in problems  # only bayline.plugin_api
    assert f"bayline_{name}/__init__.py:6 imports bayline.db" in problems
    get_db(app).dispose()
