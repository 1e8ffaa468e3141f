"""``for_shop(shop)``: one shop's tenant, features and hooks for code that runs outside a staff or
portal request (provider webhooks, Celery tasks, periodic loops over shops)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g

from bayline.db import get_session
from bayline.tenancy import tenant_scope, unscoped
from bayline.tenants.models import Shop

_BOUND = ("shop", "features", "hooks")
_UNSET = object()


@contextmanager
def for_shop(shop: Shop | int) -> Iterator[Shop]:
    """Run the block as ``shop`` (a Shop or its id): the session is scoped to the shop's tenant,
    and ``g.shop``, ``g.features`` and ``g.hooks`` are the shop's (so hook calls reach only the
    plugins active for it). What was bound before is restored on exit, so loops over shops nest
    safely inside a request or a task. Raises LookupError for an unknown shop id."""
    from .setup import bind_shop

    session = get_session()
    if not isinstance(shop, Shop):
        with unscoped(session):
            found = session.get(Shop, int(shop))
        if found is None:
            raise LookupError(f"no shop with id {shop}")
        shop = found
    saved: dict[str, Any] = {name: g.get(name, _UNSET) for name in _BOUND}
    with tenant_scope([shop.id], session):
        bind_shop(shop)
        try:
            yield shop
        finally:
            for name, value in saved.items():
                if value is _UNSET:
                    g.pop(name, None)
                else:
                    setattr(g, name, value)
