"""Generate ``docs/plugin_hooks.md`` from the hookspecs and the core's event types
(``python -m bayline.plugins.docgen``)."""
from __future__ import annotations

import inspect
import sys
import typing
from types import ModuleType

from . import hookspecs
from .types import EventType

HEADER = """# Plugin hook reference

Generated from `core/plugins/hookspecs.py` and the event types of `core/default_plugins/` by
`python -m bayline.plugins.docgen > docs/plugin_hooks.md`; a test fails when a hook is missing here,
has no documentation, or lacks its arguments, commit rule or example. Implement a hook with
`@bayline.hookimpl` on a function of the same name in your plugin module (you may accept a subset of
the arguments). Hooks of plugins not active for the current shop are not called for that shop.
"""

SECTIONS = ("Arguments:", "Commits:", "Example::")


def specs(module: ModuleType = hookspecs) -> list[tuple[str, object, dict]]:
    out = []
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        opts = getattr(fn, "bayline_spec", None)
        if opts is not None:
            out.append((name, fn, opts))
    return sorted(out, key=lambda item: inspect.getsourcelines(item[1])[1])


def undocumented(module: ModuleType = hookspecs, doc_text: str | None = None) -> list[str]:
    """Hookspecs without a docstring or one of its sections, or (when ``doc_text`` is given) missing
    from the docs."""
    missing = []
    for name, fn, _ in specs(module):
        doc = inspect.getdoc(fn)
        if not doc:
            missing.append(f"{name}: no docstring")
            continue
        missing += [f"{name}: no {section!r} section" for section in SECTIONS if section not in doc]
        if doc_text is not None and (f"### `{name}" not in doc_text or doc.splitlines()[0] not in doc_text):
            missing.append(f"{name}: not (or not currently) in docs/plugin_hooks.md")
    return missing


def core_event_types() -> list[EventType]:
    """The event types the core's default plugins register (plugins document their own)."""
    from bayline import default_plugins

    found: list[EventType] = []
    for _, module in default_plugins.CORE_PLUGINS:
        register = getattr(module, "register_event_types", None)
        if register is not None:
            found += register()
    return found


def payload_fields(payload: type) -> list[tuple[str, str, str]]:
    """``(name, type, note)`` of each key of a ``TypedDict`` payload; the note is the string literal
    written under the key in the class body."""
    hints = typing.get_type_hints(payload)
    notes = _field_notes(payload)
    return [(key, _type_name(hint), notes.get(key, "")) for key, hint in hints.items()]


def _field_notes(payload: type) -> dict[str, str]:
    import ast
    import itertools
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(payload)))
    except (OSError, TypeError):
        return {}
    notes: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for prev, node in itertools.pairwise(body):
        if (isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name) and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            notes[prev.target.id] = " ".join(node.value.value.split())
    return notes


def _type_name(hint: object) -> str:
    text = getattr(hint, "__name__", None) if not typing.get_args(hint) else None
    return text or str(hint).replace("typing.", "")


def render_event_types(types_: list[EventType]) -> str:
    parts = ["## Event types", "",
             "The payload of each event the core emits (`event.payload`, a dict with these keys). Live: "
             "*portal* — announced to the claim's open portal pages; *staff* — to the shop's open staff pages.",
             ""]
    for et in types_:
        live = ", ".join(k for k, on in (("portal", et.portal_live), ("staff", et.staff_live)) if on) or "no"
        parts += [f"### `{et.name}`", "", et.fires, "", f"Live: {live}.", "", "| key | type | notes |",
                  "|---|---|---|"]
        parts += [f"| `{key}` | `{type_.replace('|', chr(92) + '|')}` | {note} |"
                  for key, type_, note in payload_fields(et.payload)]
        parts.append("")
    return "\n".join(parts)


def render(module: ModuleType = hookspecs) -> str:
    parts = [HEADER, "## Hooks", ""]
    for name, fn, opts in specs(module):
        flags = [k for k in ("firstresult", "historic") if opts.get(k)]
        signature = str(inspect.signature(fn)).replace("'", "")
        parts.append(f"### `{name}{signature}`" + (f"  _({', '.join(flags)})_" if flags else ""))
        parts.append("")
        parts.append(inspect.getdoc(fn) or "")
        parts.append("")
    parts.append(render_event_types(core_event_types()))
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
