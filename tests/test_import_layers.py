"""The core's import layers (import-linter contracts in setup.cfg) hold.

The source folders (core/, web/, tenants/) are mapped onto the package ``bayline`` by setup.cfg,
so they are staged as that package in a temporary folder for import-linter to read; nothing is
imported or executed."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAPPING = {"core": "bayline", "tenants": "bayline/tenants", "web": "bayline/web"}


def stage(root: Path) -> Path:
    for folder, target in MAPPING.items():
        shutil.copytree(REPO / folder, root / target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.pyc"))
    return root


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail("import-linter is not installed (it is in the test extra: pip install -e '.[test]')")
    return subprocess.run([str(exe), "--no-cache", str(REPO / "setup.cfg")], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_core_import_contracts_hold(tmp_path: Path):
    result = lint_imports(stage(tmp_path / "src"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_a_broken_contract_is_reported(tmp_path: Path):
    root = stage(tmp_path / "src")
    (root / "bayline" / "claims" / "leak.py").write_text("from bayline.web import portal  # noqa\n")
    result = lint_imports(root)
    assert result.returncode == 1 and "bayline.claims.leak -> bayline.web" in result.stdout
