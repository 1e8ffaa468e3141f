"""Plugins import only ``bayline.plugin_api`` and ``bayline.testing`` (ast walk, function-local
imports and migrations included); ``check_plugin`` reports the same for third-party plugins
(tests/plugins/test_conformance.py)."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from bayline.testing.imports import forbidden_imports, imported_modules

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p for p in (REPO / "plugins").glob("*/bayline_*") if p.is_dir())
TEMPLATE = REPO / "docs" / "plugin_template" / "bayline_example"


def test_bundled_plugins_are_found():
    assert {p.name for p in PACKAGES} >= {"bayline_sms", "bayline_esign"}


@pytest.mark.parametrize("package", [*PACKAGES, TEMPLATE], ids=lambda p: p.name)
def test_plugin_imports_only_the_public_api(package: Path):
    assert forbidden_imports(package) == []


def test_the_walk_sees_every_kind_of_import(tmp_path: Path):
    pkg = tmp_path / "bayline_bad"
    (pkg / "migrations" / "versions").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from bayline import hookimpl
        from bayline.plugin_api import Claim
        from bayline.testing.forms import csrf_token
        from . import views

        def later():
            from bayline.db import get_session
            import bayline.live
            return get_session, bayline.live
    """))
    (pkg / "migrations" / "versions" / "0001_x.py").write_text("import bayline.db\nimport bayline.plugin_api\n")
    found = forbidden_imports(pkg)
    assert [f.split(" imports ")[1].split(" ")[0] for f in found] == [
        "bayline.hookimpl", "bayline.db", "bayline.live", "bayline.db"]
    assert found[0].startswith("bayline_bad/__init__.py:2 ")
    assert found[3].startswith("bayline_bad/migrations/versions/0001_x.py:1 ")
    assert list(imported_modules(ast.parse("from . import x\nfrom .y import z"))) == []
