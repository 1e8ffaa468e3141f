"""The core's look and host hooks without the branding plugin: a stand-in plugin ("looks") answers
``branding``, ``resolve_host`` and ``tenant_host`` for shops with its feature; the core draws the brand
on the portal, builds the shop's links on its host, serves only its shops there, and refuses unknown
hosts where host checking is on."""
from __future__ import annotations

import sys
import types

import pytest

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Brand, Feature, TenantHost
from bayline.testing.plugin import in_tenant

HOST = "status.looks.example"
SERVED: set[int] = set()


def _plugin() -> types.ModuleType:
    module = types.ModuleType("bayline_looks_standin")

    @hookimpl
    def register_features():
        return [Feature("looks", "Looks")]

    @hookimpl
    def branding(shop):
        return Brand(f"{shop.name} brand", primary="#7a1f2b", stylesheet_url="/static/design.css?looks",
                     powered_by=False)

    @hookimpl
    def resolve_host(host):
        return TenantHost(host, frozenset(SERVED)) if host == HOST else None

    @hookimpl
    def tenant_host(shop):
        return HOST if shop.id in SERVED else None

    for fn in (register_features, branding, resolve_host, tenant_host):
        setattr(module, fn.__name__, fn)
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("looks", _plugin())]


@pytest.fixture
def app_config():
    return {"trusted_hosts": ["www.bayline.test"]}


def _on(app, host):
    client = app.test_client()
    return lambda path: client.get(path, base_url=f"http://{host}")


def _issue(app, claim):
    from bayline.events import commit
    from bayline.portal import tokens

    with in_tenant(app, claim.tenant_id) as session:
        issued = tokens.issue(claim, purpose="sms")
        commit(session)
        return types.SimpleNamespace(url=issued.url, raw=issued.raw)


def test_brand_is_drawn_only_for_shops_with_the_feature(app, make_shop, make_claim, portal_client, enable_plugin):
    looks, plain = make_shop(name="Looks Body"), make_shop(name="Plain Body")
    enable_plugin(looks, "looks")
    html = portal_client(make_claim(looks)).get("/c/s/").get_data(as_text=True)
    assert "/static/design.css?looks" in html and "Looks Body brand" in html and "Powered by Bayline" not in html
    html = portal_client(make_claim(plain)).get("/c/s/").get_data(as_text=True)
    assert "?looks" not in html and "Powered by Bayline" in html


def test_links_carry_the_shops_host_and_only_its_shops_open_there(app, make_shop, make_claim, set_setting,
                                                                   enable_plugin):
    served, other = make_shop(), make_shop()
    for shop in (served, other):
        enable_plugin(shop, "looks")
        set_setting(shop, "portal.verification", "off")
    SERVED.clear()
    SERVED.add(served.id)
    mine, theirs = _issue(app, make_claim(served)), _issue(app, make_claim(other))
    assert mine.url.startswith(f"http://{HOST}/c/") and theirs.url.startswith("http://localhost/c/")
    on_host = _on(app, HOST)
    assert on_host(f"/c/{mine.raw}").status_code == 303
    assert on_host(f"/c/{theirs.raw}").status_code == 404  # another shop's link on this host
    assert on_host("/login").status_code == 404  # no staff pages on a customer host
    assert _on(app, "localhost")(f"/c/{theirs.raw}").status_code == 303  # the deployment's host serves all
    assert _on(app, "status.unknown.example")(f"/c/{mine.raw}").status_code == 404


def test_unknown_hosts_pass_in_development_without_configured_hosts(app_factory_dev):
    assert app_factory_dev.get("/login", base_url="http://anything.example").status_code == 200


@pytest.fixture
def app_factory_dev(database_url, tmp_path):
    from bayline import create_app

    dev = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "dev",
                      "public_url": "http://localhost"})
    return dev.test_client()


def _strayland() -> types.ModuleType:
    from bayline.plugin_api import landing_blueprint

    module = types.ModuleType("bayline_strayland")
    bp = landing_blueprint("strayland", "bayline_strayland")
    bp.add_url_rule("/p/<slug>", "ok", lambda slug: "ok")
    bp.add_url_rule("/admin/<slug>", "stray", lambda slug: "no")

    @hookimpl
    def register_features():
        return [Feature("strayland", "Stray")]

    @hookimpl
    def register_public_blueprints(app):
        return [bp]

    module.register_features = register_features
    module.register_public_blueprints = register_public_blueprints
    sys.modules.setdefault(module.__name__, module)
    return module


def test_conformance_reports_landing_routes_outside_p_and_g(database_url, tmp_path):
    from bayline import create_app
    from bayline.testing.conformance import check_plugin

    stray = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "s"},
                       plugins=[("strayland", _strayland())])
    problems = check_plugin(stray, "strayland")
    assert "strayland: landing route '/admin/<slug>' is not under /p/ or /g/" in problems
    assert not any("'/p/<slug>'" in p for p in problems)
