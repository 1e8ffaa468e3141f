"""The plugin import rule: a plugin's modules import nothing of ``bayline`` but
``bayline.plugin_api`` and ``bayline.testing`` (its ``testing/`` helpers included).

Checked statically with :mod:`ast` over every ``.py`` file of the package, migrations and
function-local imports included, so a violation is found without importing (or running) it.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ALLOWED = ("bayline.plugin_api", "bayline.testing")


def _allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


def _bayline(module: str) -> bool:
    return module == "bayline" or module.startswith("bayline.")


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in ``tree``; ``from bayline import x`` yields
    ``bayline.x`` (a submodule or a name of the package: both are internal)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "bayline":
                for alias in node.names:
                    yield node.lineno, f"bayline.{alias.name}"
            else:
                yield node.lineno, node.module


def forbidden_imports(package_dir: Path) -> list[str]:
    """Every import of an internal ``bayline`` module under ``package_dir``, as
    ``path:line imports module``."""
    problems = []
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if _bayline(module) and not _allowed(module):
                rel = path.relative_to(package_dir.parent)
                problems.append(f"{rel}:{line} imports {module} (only bayline.plugin_api and bayline.testing)")
    return problems
