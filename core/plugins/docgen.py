"""Generate ``docs/plugin_hooks.md`` from the hookspecs (``python -m bayline.plugins.docgen``)."""
from __future__ import annotations

import inspect
import sys
from types import ModuleType

from . import hookspecs

HEADER = """# Plugin hook reference

Generated from `core/plugins/hookspecs.py` by `python -m bayline.plugins.docgen > docs/plugin_hooks.md`;
a test fails when a hook is missing here or has no documentation. Implement a hook with
`@bayline.hookimpl` on a function of the same name in your plugin module (you may accept a subset of
the arguments). Hooks of plugins not active for the current shop are not called for that shop.
"""


def specs(module: ModuleType = hookspecs) -> list[tuple[str, object, dict]]:
    out = []
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        opts = getattr(fn, "bayline_spec", None)
        if opts is not None:
            out.append((name, fn, opts))
    return sorted(out, key=lambda item: inspect.getsourcelines(item[1])[1])


def undocumented(module: ModuleType = hookspecs, doc_text: str | None = None) -> list[str]:
    """Hookspecs without a docstring, or (when ``doc_text`` is given) missing from the docs."""
    missing = []
    for name, fn, _ in specs(module):
        doc = inspect.getdoc(fn)
        if not doc:
            missing.append(f"{name}: no docstring")
        elif doc_text is not None and (f"### `{name}" not in doc_text or doc.splitlines()[0] not in doc_text):
            missing.append(f"{name}: not (or not currently) in docs/plugin_hooks.md")
    return missing


def render(module: ModuleType = hookspecs) -> str:
    parts = [HEADER]
    for name, fn, opts in specs(module):
        flags = [k for k in ("firstresult", "historic") if opts.get(k)]
        signature = str(inspect.signature(fn)).replace("'", "")
        parts.append(f"### `{name}{signature}`" + (f"  _({', '.join(flags)})_" if flags else ""))
        parts.append("")
        parts.append(inspect.getdoc(fn) or "")
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
