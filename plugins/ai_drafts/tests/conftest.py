"""Fixtures for the AI drafts tests: a shop with the plugin on, a claim with facts and an incoming
message, and the local Chat Completions stand-in."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from bayline_ai_drafts.testing.chat_standin import ChatStandIn

from bayline.testing.plugin import in_tenant

ETA = date(2026, 6, 9)  # a Tuesday


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "local_model: a real local model behind an OpenAI-compatible server "
                                       "(skipped with the reason when not installed)")


@pytest.fixture
def standin() -> Iterator[ChatStandIn]:
    with ChatStandIn(models=("local-small", "local-classify")) as server:
        yield server


@pytest.fixture
def ai_shop(app: Any, make_shop: Callable, make_user: Callable, enable_plugin: Callable, client_for: Callable,
            set_setting: Callable) -> SimpleNamespace:
    shop = make_shop(plan="starter", name="Harbor Collision", phone="+16175550199")
    enable_plugin(shop, "ai_drafts")
    owner = make_user(shop, email=f"owner-{shop.id}@example.com")
    return SimpleNamespace(shop=shop, owner=owner, client=client_for(owner))


@pytest.fixture
def use_endpoint(set_setting: Callable, standin: ChatStandIn) -> Callable[[Any], None]:
    def go(shop: Any, **extra: Any) -> None:
        set_setting(shop, "ai_drafts.provider", "openai_compatible")
        set_setting(shop, "ai_drafts.base_url", standin.base_url)
        set_setting(shop, "ai_drafts.api_key", "sk-test-123")
        set_setting(shop, "ai_drafts.model_sms_reply", "local-small")
        set_setting(shop, "ai_drafts.model_email_reply", "local-small")
        set_setting(shop, "ai_drafts.model_adjuster_email", "local-small")
        for key, value in extra.items():
            set_setting(shop, f"ai_drafts.{key}", value)

    return go


@pytest.fixture
def fact_claim(app: Any, make_claim: Callable) -> Callable[..., Any]:
    """``fact_claim(shop, incoming="When is my car ready?", **fields)``: a claim with an ETA, insurer,
    VIN, internal notes and the customer's message."""

    def make(shop: Any, incoming: str | None = "When will my car be ready?", **fields: Any) -> Any:
        from bayline.claims.models import Claim
        from bayline.events import commit
        from bayline.messages import service as messages

        values = {"vehicle_year": 2019, "vehicle_make": "Honda", "vehicle_model": "Civic", "vin": "1HGCM82633A004352",
                  "insurer": "Liberty Mutual", "insurer_claim_number": "LM-8812345",
                  "adjuster_name": "Pat Lee", "adjuster_email": "pat@insurer.example",
                  "internal_notes": "SECRET-NOTE customer disputes deductible"} | fields
        claim = make_claim(shop, **values)
        with in_tenant(app, shop.id) as session:
            current = session.get(Claim, claim.id)
            from bayline.claims import service as claims

            claims.set_eta(current, ETA, None, "parts")
            if incoming:
                messages.receive(current, incoming, channel="sms")
            commit(session)
        return claim

    return make


@pytest.fixture
def post_form() -> Callable[..., Any]:
    """``post_form(client, claim_id, url, data)``: POST a form of the claim page (with its CSRF token)."""
    from bayline.testing.forms import csrf_token

    def go(client: Any, claim_id: int, url: str, data: dict[str, Any], **kw: Any) -> Any:
        token = csrf_token(client, f"/console/claims/{claim_id}")
        return client.post(url, data={"csrf_token": token, **data}, **kw)

    return go
