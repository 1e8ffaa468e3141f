"""Online payment providers, asked of the plugins by name (hook ``payment_provider``), never by
plugin name: any plugin may provide one, any plugin taking payments uses it."""
from __future__ import annotations

from typing import Any

from flask import current_app, g

from bayline.plugins.types import PaymentProvider


def _hooks(hooks: Any) -> Any:
    if hooks is not None:
        return hooks
    if g.get("hooks") is not None:
        return g.hooks
    return current_app.extensions["bayline.plugins"].hook  # a webhook before its shop is known


def provider(name: str, hooks: Any = None) -> PaymentProvider | None:
    """The payment provider called ``name``: among the plugins active for the request's shop
    (``g.hooks``) or, outside a shop (a provider webhook), among every installed plugin. None when
    no plugin provides it."""
    name = (name or "").strip().lower()
    if not name:
        return None
    hooks = _hooks(hooks)
    for answer in hooks.payment_provider(name=name):
        if answer is not None and getattr(answer, "name", None) == name:
            return answer
    return None
