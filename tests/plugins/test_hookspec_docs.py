"""Every hookspec is documented, in its docstring and in docs/plugin_hooks.md."""
from __future__ import annotations

import types
from pathlib import Path

from bayline.plugins import docgen, hookspecs
from bayline.plugins.markers import hookspec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"


def test_every_hookspec_is_documented():
    assert docgen.undocumented(hookspecs, DOCS.read_text()) == []
    assert len(docgen.specs()) >= 15


def test_docs_are_current():
    assert DOCS.read_text() == docgen.render(), "regenerate: python -m bayline.plugins.docgen > docs/plugin_hooks.md"


def test_checker_catches_an_undocumented_hook():
    module = types.ModuleType("fake_specs")

    @hookspec
    def shiny_new_hook(claim):
        pass

    module.shiny_new_hook = shiny_new_hook
    assert docgen.undocumented(module) == ["shiny_new_hook: no docstring"]
    shiny_new_hook.__doc__ = "Documented in code but not in the reference.\n\nArguments:\n    claim: it."
    assert docgen.undocumented(module, DOCS.read_text()) == [
        "shiny_new_hook: no 'Commits:' section", "shiny_new_hook: no 'Example::' section",
        "shiny_new_hook: not (or not currently) in docs/plugin_hooks.md"]


def test_core_event_types_are_in_the_reference_with_their_payload_keys():
    text = DOCS.read_text()
    for et in docgen.core_event_types():
        assert f"### `{et.name}`" in text
        for key, _type, _note in docgen.payload_fields(et.payload):
            assert f"| `{key}` |" in text
    assert "terminal stage" in text  # when claim.delivered fires
