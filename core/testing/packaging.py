"""Build a throwaway plugin distribution on disk, discoverable through entry points.

``install_plugin_copy`` copies the template plugin (``docs/plugin_template``),
renames ``example`` to ``name`` everywhere and writes a ``.dist-info`` with the
``bayline.plugins`` entry point, so putting the folder on ``sys.path`` is what
``pip install`` would do for discovery: ``importlib.metadata`` finds it.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "plugin_template"


def write_dist_info(root: Path, name: str, module: str, version: str = "0.1.0") -> None:
    dist = root / f"bayline_{name}-{version}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: bayline-{name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[bayline.plugins]\n{name} = {module}\n")
    (dist / "top_level.txt").write_text(module.split(".")[0] + "\n")


def install_plugin_copy(root: Path, name: str) -> Path:
    """Copy the template as plugin ``name`` under ``root``; returns ``root`` (put it on sys.path)."""
    target = root / f"bayline_{name}"
    shutil.copytree(TEMPLATE / "bayline_example", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        text = path.read_text()
        text = text.replace("bayline_example", f"bayline_{name}").replace("ExampleNote", "Note")
        text = text.replace("example", name).replace("Example", name.capitalize())
        path.write_text(text)
    write_dist_info(root, name, f"bayline_{name}")
    return root


def forget_modules(prefix: str) -> None:
    for mod in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[mod]
