"""Fixtures for the quotes plugin tests (on top of Bayline's pytest plugin): a Stripe stand-in the
official library talks to, a shop with the quotes settings of the BMS fixtures, and helpers."""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bayline_quotes.testing.stripe_standin import API_KEY, WEBHOOK_SECRET, StripeStandIn

FIXTURES = Path(__file__).parent / "fixtures"
JSON = {"Accept": "application/json"}


@pytest.fixture
def stripe_api() -> Iterator[StripeStandIn]:
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(stripe_api: StripeStandIn) -> dict[str, Any]:
    return {"BAYLINE_PLUGIN_QUOTES_STRIPE_SECRET_KEY": API_KEY,
            "BAYLINE_PLUGIN_QUOTES_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BAYLINE_PLUGIN_QUOTES_STRIPE_API_BASE": stripe_api.base_url}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def bms_body(name: str | bytes) -> dict[str, Any]:
    data = fixture_bytes(name) if isinstance(name, str) else name
    return {"format": "bms", "content": base64.b64encode(data).decode(), "encoding": "base64"}


@pytest.fixture
def quotes_shop(app: Any, make_shop: Callable, make_user: Callable, make_claim: Callable, api_client: Callable,
                set_setting: Callable) -> SimpleNamespace:
    """A starter shop taxing parts at 10 % (the BMS fixtures' jurisdiction), its owner, the claim the
    fixtures name (RO-4471) and an admin API client."""
    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, email=f"owner-{shop.id}@example.com")
    claim = make_claim(shop, number="RO-4471", vin="1HGCM82633A004352", insurer="Acme Mutual",
                       insurer_claim_number="AM-99-1203")
    set_setting(shop, "quotes.tax_parts", "10")
    return SimpleNamespace(shop=shop, owner=owner, claim=claim, api=api_client(shop))


@pytest.fixture
def q() -> SimpleNamespace:
    """Helpers (fixtures, so test modules need no imports from this directory)."""
    return SimpleNamespace(JSON=JSON, fixture=fixture_bytes, bms=bms_body, FIXTURES=FIXTURES)
