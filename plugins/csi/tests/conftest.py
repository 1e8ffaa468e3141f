"""Fixtures for the CSI plugin tests (on top of Bayline's pytest plugin): a starter shop with review
links, a delivered-claim helper and time travel (the plugin's clock and the outbox's)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bayline.testing.plugin import in_tenant

PLACE_ID = "ChIJN1t_tDeuEmsRUsoyG83frY4"
FACEBOOK = "https://www.facebook.com/harborcollision/reviews"


@pytest.fixture
def csi_shop(app: Any, make_shop: Callable, make_user: Callable, api_client: Callable,
             set_setting: Callable) -> SimpleNamespace:
    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, email=f"owner-{shop.id}@example.com")
    set_setting(shop, "csi.google_place_id", PLACE_ID)
    set_setting(shop, "csi.facebook_review_url", FACEBOOK)
    set_setting(shop, "csi.delay_hours", 48)
    return SimpleNamespace(shop=shop, owner=owner, api=api_client(shop))


@pytest.fixture
def deliver(app: Any) -> Callable[[Any], Any]:
    """``deliver(claim)`` moves the claim to its shop's terminal stage (``claim.delivered`` fires)."""

    def factory(claim: Any) -> Any:
        from sqlalchemy import select

        from bayline.claims import service
        from bayline.claims.models import Claim, Stage
        from bayline.events import commit

        with in_tenant(app, claim.tenant_id) as session:
            current = session.get(Claim, claim.id)
            stage = session.scalars(select(Stage).where(Stage.terminal.is_(True))).first()
            service.change_stage(current, stage)
            commit(session)
            return current.delivered_at

    return factory


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """``travel(when)``: the plugin's and the outbox's clocks read ``when``."""

    def go(when: datetime) -> None:
        import bayline_csi.scorecard as csi_scorecard
        import bayline_csi.service as csi_service
        import bayline_csi.tasks as csi_tasks
        import bayline_csi.views as csi_views

        import bayline.messaging.service as outbox_service
        import bayline.messaging.tasks as outbox_tasks

        for module in (outbox_service, outbox_tasks, csi_service, csi_tasks, csi_views, csi_scorecard):
            monkeypatch.setattr(module, "utcnow", lambda: when)

    return go


@pytest.fixture
def dispatch(app: Any) -> Callable[[], int]:
    """Run the outbox scheduler once (releases held rows that are due)."""

    def run() -> int:
        from bayline.messaging.tasks import dispatch_due

        with app.app_context():
            return dispatch_due()

    return run
