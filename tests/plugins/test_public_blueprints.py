"""Public plugin blueprints (register_public_blueprints) are reachable without a shop; gated ones are not."""
from __future__ import annotations

import types

import pytest
from flask import Blueprint

from bayline import Feature, hookimpl
from bayline.testing.conformance import check_plugin


def _plugin() -> types.ModuleType:
    mod = types.ModuleType("bayline_pubcheck")
    gated = Blueprint("plugin_pubcheck", "bayline_pubcheck", url_prefix="/plugins/pubcheck")
    public = Blueprint("plugin_pubcheck_public", "bayline_pubcheck", url_prefix="/plugins/pubcheck")
    gated.add_url_rule("/private", "private", lambda: {"ok": True})
    public.add_url_rule("/hook", "hook", lambda: {"ok": True})

    @hookimpl
    def register_features():
        return [Feature("pubcheck", "Public check")]

    @hookimpl
    def register_blueprints(app):
        return [gated]

    @hookimpl
    def register_public_blueprints(app):
        return [public]

    mod.register_features = register_features
    mod.register_blueprints = register_blueprints
    mod.register_public_blueprints = register_public_blueprints
    return mod


@pytest.fixture
def extra_plugins():
    return [("pubcheck", _plugin())]


def test_public_blueprint_is_not_gated(app, make_shop, make_user, client_for):
    anon = app.test_client()
    assert anon.get("/plugins/pubcheck/hook").status_code == 200
    assert anon.get("/plugins/pubcheck/private").status_code == 401
    shop = make_shop()  # the feature is on no plan: staff get the plan error on gated routes only
    staff = client_for(make_user(shop))
    r = staff.get("/plugins/pubcheck/private", headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"
    assert staff.get("/plugins/pubcheck/hook").status_code == 200
    assert [bp.name for bp in app.extensions["bayline.plugin_blueprints"]["pubcheck"]] == [
        "plugin_pubcheck", "plugin_pubcheck_public"]
    assert not [p for p in check_plugin(app, "pubcheck") if "blueprint" in p]
