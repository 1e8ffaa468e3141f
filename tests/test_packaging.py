"""The distribution: source folders cannot be imported by their own names, every package is in the
wheel, and the built wheel installed in a fresh virtualenv imports every module."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("core", "web", "tenants", "migrations")


def _setup_cfg() -> tuple[dict[str, str], set[str]]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    mapping = dict(line.split(" = ") for line in cfg["options"]["package_dir"].strip().splitlines())
    packages = {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}
    return {v.strip(): k.strip() for k, v in mapping.items()}, packages


def package_dirs() -> dict[str, Path]:
    """Dotted package name -> folder, for every folder with an ``__init__.py`` under the sources."""
    folders, _ = _setup_cfg()
    found = {}
    for source in SOURCES:
        for init in (REPO / source).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / source)
            name = ".".join([folders[source], *rel.parts]) if rel.parts else folders[source]
            found[name] = init.parent
    return found


@pytest.mark.parametrize("folder", ["core", "web", "tenants"])
def test_importing_a_source_folder_by_name_fails_clearly(folder):
    module = {"core": "core.claims.models", "web": "web.portal", "tenants": "tenants.models"}[folder]
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert f"ImportError: '{folder}' is the source folder {folder}/ of the package" in result.stderr
    assert "already defined" not in result.stderr


def test_every_package_folder_is_listed_in_setup_cfg():
    _, listed = _setup_cfg()
    assert set(package_dirs()) - listed == set(), "add these to [options] packages in setup.cfg"


CHECK = r"""
import importlib, pkgutil, sys
from pathlib import Path
import bayline
root = Path(bayline.__file__).parent
assert str(root).startswith(sys.argv[1]), f"bayline imported from {root}, not from the installed wheel"
names = ["bayline"] + [m.name for m in pkgutil.walk_packages(bayline.__path__, "bayline.")]
skip = {"bayline.migrations.env"}  # Alembic's env script runs only inside Alembic
for name in names:
    if name not in skip:
        importlib.import_module(name)
for path in sys.argv[2:]:
    assert (root / path).exists(), f"{path} missing from the wheel"
print(len(names))
"""


@pytest.mark.wheel
def test_wheel_installs_in_a_fresh_venv_and_imports_every_module(tmp_path):
    src = tmp_path / "src"
    for name in SOURCES:
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
                            str(src)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = dist.glob("bayline-*.whl")

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "--no-compile", "-q", str(wheel)], capture_output=True, text=True,
                             timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([str(python), "-c", purelib], text=True).strip())
    # the dependencies come from this test's environment (no network): its site-packages, after the wheel's
    (site / "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    expected = [f"{'/'.join(name.split('.')[1:])}/__init__.py" for name in package_dirs() if name != "bayline"]
    expected += ["web/templates/base.html", "web/templates/portal/base.html", "migrations/script.py.mako",
                 "migrations/versions/0001_core_schema.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BAYLINE_"))}
    result = subprocess.run([str(python), "-c", CHECK, str(site), *expected], cwd=tmp_path, capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert int(result.stdout.split()[-1]) > 60  # every module of the package was imported
