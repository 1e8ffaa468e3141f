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

from bayline.testing.forms import csrf_token

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


def import_supplement2(quotes: SimpleNamespace) -> dict[str, Any]:
    """Imports the original, supplement 1 and supplement 2 of the BMS fixtures; supplement 2's JSON."""
    for name in ("bms_original.xml", "bms_supplement1.xml", "bms_supplement2.xml"):
        r = quotes.api.post("/api/v1/plugins/quotes/imports", json=bms_body(name))
        assert r.status_code == 201, r.get_json()
    return r.get_json()["version"]


def phone_for(portal_client: Callable, claim: Any) -> Any:
    """The claim's portal client, seen as an iPhone at a fixed address (approval history records both)."""
    client = portal_client(claim)
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) TestPhone"
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    return client


def decide(client: Any, version_id: int, **form: Any) -> Any:
    """Posts the customer's decision form on a version's portal page (with that page's CSRF token)."""
    page = client.get(f"/c/s/quotes/versions/{version_id}")
    return client.post(f"/c/s/quotes/versions/{version_id}/decide", data={"csrf_token": csrf_token(page), **form})


def line_id(version: dict[str, Any], description: str) -> int:
    return next(ln["id"] for ln in version["lines"] if ln["description"].startswith(description))


@pytest.fixture
def q() -> SimpleNamespace:
    """Helpers (fixtures, so test modules need no imports from this directory)."""
    return SimpleNamespace(JSON=JSON, fixture=fixture_bytes, bms=bms_body, FIXTURES=FIXTURES,
                           import_supplement2=import_supplement2, phone_for=phone_for, decide=decide,
                           line_id=line_id)
