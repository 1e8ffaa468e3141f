"""Call a hook so that one failing implementation is logged and skipped, never the caller's failure.

pluggy stops a hook call at the first exception; for per-request collecting hooks (``claim_panels``,
``portal_sections``, ``menu_items``, ``extra_template_vars``) and for ``on_event`` one broken plugin
must not take the page, or the other plugins' handlers, down with it.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)


def call_each(caller: Any, **kwargs: Any) -> list[Any]:
    """Call every implementation of ``caller`` (a pluggy hook caller or subset) on its own, in
    pluggy's order (last registered first); return the non-None results.

    A raising implementation is logged with its plugin's name and skipped. With
    ``BAYLINE_RAISE_HOOK_ERRORS`` (the test default) the first error is re-raised after the others ran,
    so tests see broken plugins."""
    results: list[Any] = []
    failed: Exception | None = None
    for impl in reversed(caller.get_hookimpls()):
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as exc:
            log.exception("hook %s of plugin %s failed", caller.name, impl.plugin_name)
            failed = failed or exc
            continue
        if result is not None:
            results.append(result)
    if failed is not None and current_app.config.get("BAYLINE_RAISE_HOOK_ERRORS"):
        raise failed
    return results


def collect(caller: Any, **kwargs: Any) -> list[Any]:
    """:func:`call_each` for hooks that return lists: the items of every result, flattened."""
    items: list[Any] = []
    for result in call_each(caller, **kwargs):
        items.extend(result if isinstance(result, (list, tuple)) else [result])
    return items
