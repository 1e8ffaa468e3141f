"""Fixtures for the branding plugin tests: shops on each plan with a logged-in owner, images and
helpers to read what a page links to."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from branding_helpers import png


@pytest.fixture
def shop_on(app: Any, make_shop: Callable, make_user: Callable, client_for: Callable,
            api_client: Callable) -> Callable[..., SimpleNamespace]:
    """``shop_on("professional", name=...)``: a shop on that plan, its owner, a console client, an
    admin API client."""

    def factory(plan: str = "professional", **fields: Any) -> SimpleNamespace:
        fields.setdefault("phone", "+16175550199")
        shop = make_shop(plan=plan, **fields)
        owner = make_user(shop)
        return SimpleNamespace(shop=shop, owner=owner, client=client_for(owner, shop), api=api_client(shop))

    return factory


@pytest.fixture
def png_bytes() -> Callable[..., bytes]:
    return png


@pytest.fixture(autouse=True)
def plan_defaults(app: Any) -> None:
    """What ``flask db upgrade`` does after the migrations: the plan rows plugins suggest
    (``Feature.default_tiers``); the test template is migrated without it."""
    from bayline.events import commit
    from bayline.tenants import features
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        features.apply_default_tiers()
        commit(session)
