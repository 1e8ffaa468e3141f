"""Fixtures for the scheduling plugin tests (on top of Bayline's pytest plugin): a shop in New York
open Mon–Fri 08:00–17:00, time travel (the plugin's clock and the outbox's), and helpers."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from bayline_scheduling.testing import HOURS, NOW, RadicaleServer

from bayline.testing.plugin import in_tenant


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """``travel(when)``: the plugin's and the outbox's clocks read ``when``."""

    def go(when: datetime) -> None:
        import bayline_scheduling.api as s_api
        import bayline_scheduling.caldav_sync as s_caldav
        import bayline_scheduling.calendar as s_calendar
        import bayline_scheduling.notify as s_notify
        import bayline_scheduling.service as s_service
        import bayline_scheduling.tasks as s_tasks
        import bayline_scheduling.views as s_views

        import bayline.messaging.service as outbox_service
        import bayline.messaging.tasks as outbox_tasks

        for module in (outbox_service, outbox_tasks, s_service, s_notify, s_views, s_api, s_calendar, s_caldav,
                       s_tasks):
            monkeypatch.setattr(module, "utcnow", lambda: when)

    return go


@pytest.fixture
def sched(app: Any, make_shop: Callable, make_user: Callable, make_claim: Callable, api_client: Callable,
          set_setting: Callable, travel: Callable) -> SimpleNamespace:
    """A starter shop in New York (Mon–Fri 08:00–17:00), its owner, a claim, an admin API client; the
    clock at Monday 2 March 2026 11:00 New York."""
    travel(NOW)
    shop = make_shop(plan="starter", name="Harbor Collision", timezone="America/New_York", hours=HOURS)
    owner = make_user(shop, email=f"owner-{shop.id}@example.com")
    claim = make_claim(shop, number="RO-1001")
    return SimpleNamespace(shop=shop, owner=owner, claim=claim, api=api_client(shop), set=lambda k, v:
                           set_setting(shop, k, v))


@pytest.fixture
def move_to_ready(app: Any) -> Callable[[Any], None]:
    """``move_to_ready(claim)``: the claim goes to the last stage before delivery (``claim.stage_changed``)."""

    def go(claim: Any) -> None:
        from sqlalchemy import select

        from bayline.claims import service
        from bayline.claims.models import Claim, Stage
        from bayline.events import commit

        with in_tenant(app, claim.tenant_id) as session:
            current = session.get(Claim, claim.id)
            stage = [s for s in session.scalars(select(Stage).order_by(Stage.position)) if not s.terminal][-1]
            service.change_stage(current, stage)
            commit(session)

    return go


@pytest.fixture
def dispatch(app: Any) -> Callable[[], int]:
    def run() -> int:
        from bayline.messaging.tasks import dispatch_due

        with app.app_context():
            return dispatch_due()

    return run


@pytest.fixture
def radicale(tmp_path: Any) -> Any:
    """A real CalDAV server (Radicale) on a free loopback port, stopped after the test."""
    server = RadicaleServer(tmp_path / "radicale").start()
    yield server
    server.stop()


@pytest.fixture
def staff_calendar(sched: SimpleNamespace, radicale: RadicaleServer) -> Any:
    """The shop's staff calendar on Radicale, set in the shop's scheduling settings; the caldav
    ``Calendar`` (what staff and their calendar apps see)."""
    url = radicale.make_calendar("staff")
    sched.set("scheduling.caldav_url", url)
    sched.set("scheduling.caldav_username", radicale.user)
    sched.set("scheduling.caldav_password", radicale.password)
    return radicale.calendar(url)
