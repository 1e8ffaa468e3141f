"""A plugin whose ``on_event`` handler raises must not stop the other handlers: the portal's live
update and the other plugins still get the event, and the request that caused it still succeeds.

(Found by the portal benchmark: an in-progress plugin failing on ``claim.stage_changed`` silenced
every open portal page, because pluggy stops a hook call at the first exception.)
"""
from __future__ import annotations

import sys
import types

import pytest

from bayline.live import channel, get_broker
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature

SEEN: list[str] = []


def _plugin(name: str, fail: bool) -> types.ModuleType:
    module = types.ModuleType(f"bayline_fault_{name}")

    @hookimpl
    def register_features():
        return [Feature(name, name)]

    @hookimpl
    def on_event(event):
        if fail:
            raise RuntimeError(f"{name} is broken")
        SEEN.append(f"{name}:{event.type}")

    module.register_features = register_features
    module.on_event = on_event
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    # registered in this order; pluggy calls the last registered first, so "broken" runs before "spy"
    return [("spy", _plugin("spy", fail=False)), ("broken", _plugin("broken", fail=True))]


@pytest.fixture
def app_config():
    return {"BAYLINE_RAISE_HOOK_ERRORS": False}  # production behaviour: log, carry on


def test_failing_plugin_handler_does_not_silence_the_others(app, make_shop, make_claim, api_client,
                                                            enable_plugin, caplog):
    SEEN.clear()
    shop = make_shop()
    claim = make_claim(shop)
    enable_plugin(shop, "spy")
    enable_plugin(shop, "broken")
    subscription = get_broker(app).subscribe(channel(shop.id, claim.id))
    try:
        api = api_client(shop)
        stages = api.get("/api/v1/stages").json
        r = api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
        assert r.status_code == 200
        message = subscription.get(timeout=60)
    finally:
        subscription.close()
    assert message is not None and message["type"] == "claim.stage_changed"  # the portal page hears it
    assert "spy:claim.stage_changed" in SEEN
    assert any("broken" in rec.getMessage() and rec.exc_info for rec in caplog.records)
