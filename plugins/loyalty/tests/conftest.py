"""Fixtures of the loyalty plugin's tests: a shop with quotes/payments (its payment events are the
earning source), loyalty and referrals granted; helpers to record payments through the quotes API,
deliver a claim, and read a member."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from bayline.testing.plugin import in_tenant

import bayline_loyalty  # noqa: F401  (not installed: the run fails, never skips)


@pytest.fixture
def programme(app: Any, make_shop: Callable, make_user: Callable, enable_plugin: Callable, api_client: Callable,
              client_for: Callable) -> SimpleNamespace:
    shop = make_shop(name="Harbor Collision")
    for feature in ("loyalty", "referrals"):
        enable_plugin(shop, feature)
    owner = make_user(shop, email=f"owner-{shop.id}@example.com")
    return SimpleNamespace(shop=shop, owner=owner, api=api_client(shop), staff=client_for(owner, shop))


@pytest.fixture
def pay(programme: SimpleNamespace) -> Callable[..., Any]:
    """``pay(claim, "250.00", payer="customer", kind="payment", method="card")`` through the quotes API."""

    def go(claim: Any, amount: str, payer: str = "customer", kind: str = "payment", method: str = "card") -> Any:
        r = programme.api.post(f"/api/v1/plugins/quotes/claims/{claim.id}/payments",
                               json={"kind": kind, "payer": payer, "method": method, "amount": amount})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    return go


@pytest.fixture
def deliver(app: Any) -> Callable[[Any], Any]:
    def go(claim: Any) -> Any:
        from sqlalchemy import select

        from bayline.claims import service
        from bayline.claims.models import Claim, Stage
        from bayline.events import commit

        with in_tenant(app, claim.tenant_id) as session:
            current = session.get(Claim, claim.id)
            stage = session.scalars(select(Stage).where(Stage.terminal.is_(True))).first()
            service.change_stage(current, stage)
            commit(session)

    return go


@pytest.fixture
def member_of(app: Any) -> Callable[[Any], Any]:
    """``member_of(claim)`` → (balance, ledger sum, [(kind, delta)]) of the claim customer's member."""

    def go(claim: Any) -> Any:
        from bayline.claims.models import Claim

        from bayline_loyalty import service

        with in_tenant(app, claim.tenant_id) as session:
            member = service.member_for_claim(session.get(Claim, claim.id), create=False)
            if member is None:
                return None
            return SimpleNamespace(id=member.id, balance=member.balance, total=service.ledger_sum(member),
                                   code=member.referral_code,
                                   ledger=[(e.kind, e.delta) for e in reversed(service.entries(member))])

    return go
