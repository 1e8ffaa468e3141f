"""Emitted event payloads match the TypedDict their event type declares (the shapes the hook reference
documents). ``emit`` checks every payload in test mode; this test drives the core's claim, message and
portal-link flows and checks what a plugin's ``on_event`` receives."""
from __future__ import annotations

import sys
import types
from datetime import date
from typing import Literal, TypedDict

import pytest

from bayline.plugins.markers import hookimpl
from bayline.plugins.payloads import payload_problems
from bayline.plugins.types import Feature
from bayline.testing.plugin import in_tenant

SEEN: list = []


def _spy() -> types.ModuleType:
    module = types.ModuleType("bayline_payloadspy")

    @hookimpl
    def register_features():
        return [Feature("payloadspy", "Payload spy")]

    @hookimpl
    def on_event(event):
        SEEN.append(event)

    module.register_features, module.on_event = register_features, on_event
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("payloadspy", _spy())]


def test_core_flows_emit_the_declared_payloads(app, make_shop, make_claim, enable_plugin):
    from bayline.claims import service
    from bayline.claims.models import Claim
    from bayline.claims.stages import active_stages
    from bayline.events import commit
    from bayline.messages import service as messages

    shop = make_shop()
    enable_plugin(shop, "payloadspy")
    SEEN.clear()
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        current = session.get(Claim, claim.id)
        service.update_claim(current, {"plate": "7ABC123"})
        service.set_eta(current, date(2030, 5, 1))
        terminal = next(s for s in active_stages() if s.terminal)
        service.change_stage(current, terminal)
        messages.send(current, "Ready for pick-up", None)
        messages.receive(current, "On my way")
        service.archive_claim(current)
        commit(session)
    types_ = app.extensions["bayline.event_types"]
    seen = {e.type for e in SEEN}
    assert {"claim.created", "claim.updated", "claim.eta_changed", "claim.stage_changed", "claim.delivered",
            "message.sent", "message.received", "claim.archived", "portal.link_issued"} <= seen
    for event in SEEN:
        assert payload_problems(types_[event.type].payload, event.payload) == [], event.type
    delivered = [e.type for e in SEEN]
    assert delivered.index("claim.delivered") == delivered.index("claim.stage_changed") + 1


def test_emit_refuses_a_payload_off_its_shape(app, make_shop):
    from bayline.events import emit

    shop = make_shop()
    with in_tenant(app, shop.id), pytest.raises(ValueError, match="missing key 'to_stage_id'"):
        emit("claim.stage_changed", shop.id, {"claim_id": 1, "from_stage_id": None, "user_id": None})
    with in_tenant(app, shop.id), pytest.raises(ValueError, match="undeclared key 'colour'"):
        emit("claim.archived", shop.id, {"claim_id": 1, "user_id": None, "colour": "red"})


class Sample(TypedDict):
    n: int
    names: list[str]
    side: Literal["in", "out"]
    maybe: str | None


@pytest.mark.parametrize(("payload", "problem"), [
    ({"n": 1, "names": ["a"], "side": "in", "maybe": None}, None),
    ({"n": True, "names": ["a"], "side": "in", "maybe": None}, "'n'"),
    ({"n": 1, "names": [2], "side": "in", "maybe": "x"}, "'names'"),
    ({"n": 1, "names": [], "side": "up", "maybe": None}, "'side'"),
    ({"n": 1, "names": [], "side": "out", "maybe": 3}, "'maybe'"),
    ({"n": 1, "names": [], "side": "out"}, "missing key 'maybe'"),
])
def test_payload_checker(payload, problem):
    found = payload_problems(Sample, payload)
    assert (found == []) if problem is None else any(problem in p for p in found)
