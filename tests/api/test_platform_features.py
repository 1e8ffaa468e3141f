"""Features and plans for platform admins: ``flask bayline features``, ``/api/v1/platform`` and the
console's plan/add-on editor; plugins' suggested plan tiers applied by a data step; features whose
plugin is not installed never show as on; every change fires ``entitlements_changed``."""
from __future__ import annotations

import json
import sys
import types

import pytest
from sqlalchemy import delete, select

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

CHANGES: list[tuple[str, frozenset, frozenset]] = []


def _plugin() -> types.ModuleType:
    module = types.ModuleType("bayline_tiered")

    @hookimpl
    def register_features():
        return [Feature("tiered", "Tiered", "A plugin with suggested tiers", default_tiers=("elite", "nosuchtier"))]

    @hookimpl
    def entitlements_changed(shop, before, after):
        CHANGES.append((shop.slug, frozenset(before), frozenset(after)))

    module.register_features, module.entitlements_changed = register_features, entitlements_changed
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("tiered", _plugin())]


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _platform_key(app, shop) -> str:
    result = _cli(app, "bayline", "rotate-api-key", "--shop", shop.slug, "--name", "ops", "--scope", "platform")
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _platform_admin(app, shop):
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    with in_tenant(app) as session:
        user = provisioning.create_user(f"ops-{shop.slug}@example.com", "Ops", "correct-horse-42",
                                        platform_admin=True)
        provisioning.add_membership(user, session.get(Shop, shop.id), "advisor")
        commit(session)
        return user


def _states(app, shop) -> dict[str, dict]:
    result = _cli(app, "bayline", "features", "list", "--shop", shop.slug, "--json")
    assert result.exit_code == 0, result.output
    return {row["key"]: row for row in json.loads(result.output)["features"]}


# -- CLI -----------------------------------------------------------------------------------------------

def test_cli_grant_revoke_list_and_plan(app, make_shop):
    shop = make_shop()
    CHANGES.clear()
    assert not _states(app, shop)["tiered"]["active"]
    result = _cli(app, "bayline", "features", "grant", "--shop", shop.slug, "tiered")
    assert result.exit_code == 0 and "granted tiered" in result.output
    assert _states(app, shop)["tiered"] == {"key": "tiered", "name": "Tiered", "installed": True, "in_plan": False,
                                            "addon": True, "switched_off": False, "active": True}
    assert CHANGES[-1][0] == shop.slug and "tiered" in CHANGES[-1][2] - CHANGES[-1][1]
    assert _cli(app, "bayline", "features", "revoke", "--shop", shop.slug, "tiered").exit_code == 0
    assert not _states(app, shop)["tiered"]["active"] and "tiered" in CHANGES[-1][1] - CHANGES[-1][2]
    assert _cli(app, "bayline", "features", "set-plan", "--shop", shop.slug, "professional").exit_code == 0
    states = _states(app, shop)
    # customisation is on the professional plan, but no installed plugin provides it: never "on"
    unprovided = states["customisation"]
    assert unprovided["in_plan"] and not unprovided["installed"] and not unprovided["active"]
    text = _cli(app, "bayline", "features", "list", "--shop", shop.slug).output
    assert "professional" in text and "not installed" in text


@pytest.mark.parametrize(("args", "message"), [
    (("grant", "--shop", "no-such-shop", "tiered"), "no shop 'no-such-shop'"),
    (("grant", "--shop", "{slug}", "customisation"), "no installed plugin provides the feature 'customisation'"),
    (("revoke", "--shop", "{slug}", "sms"), "comes with the 'starter' plan"),
    (("revoke", "--shop", "{slug}", "tiered"), "not an add-on"),
    (("set-plan", "--shop", "{slug}", "platinum"), "unknown plan 'platinum'"),
])
def test_cli_bad_input_is_refused_and_changes_nothing(app, make_shop, args, message):
    shop = make_shop()
    before = _states(app, shop)
    CHANGES.clear()
    result = _cli(app, "bayline", "features", *[a.replace("{slug}", shop.slug) for a in args])
    assert result.exit_code != 0 and message in result.output
    assert _states(app, shop) == before and CHANGES == []


def test_default_tiers_are_applied_once_by_the_data_step(app, make_shop):
    from bayline.tenants.models import PlanFeature

    elite = make_shop(plan="elite")
    CHANGES.clear()
    result = _cli(app, "db", "upgrade")  # migrations are at head; the post-step applies suggested tiers
    assert result.exit_code == 0, result.output
    assert "plan elite: added feature tiered" in result.output
    assert _states(app, elite)["tiered"]["active"] and (elite.slug, ) == CHANGES[-1][:1]
    with in_tenant(app) as session:
        rows = set(session.execute(select(PlanFeature.plan_key).where(PlanFeature.feature == "tiered")).scalars())
        assert rows == {"elite"}  # the unknown tier is skipped
        # the operator takes it off the plan again: the next upgrade keeps it off
        session.execute(delete(PlanFeature).where(PlanFeature.feature == "tiered"))
        session.commit()
    result = _cli(app, "bayline", "features", "apply-defaults")
    assert result.exit_code == 0 and "added" not in result.output
    assert not _states(app, elite)["tiered"]["in_plan"]


# -- API -----------------------------------------------------------------------------------------------

def test_platform_api_with_a_platform_key(app, make_shop):
    home, target = make_shop(), make_shop()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {_platform_key(app, home)}"
    r = client.get(f"/api/v1/platform/shops/{target.slug}/features")
    assert r.status_code == 200 and r.json["plan"] == "starter"
    CHANGES.clear()
    r = client.put(f"/api/v1/platform/shops/{target.slug}/features/tiered")
    assert r.status_code == 200 and {f["key"]: f for f in r.json["features"]}["tiered"]["active"]
    assert CHANGES[-1][0] == target.slug
    r = client.delete(f"/api/v1/platform/shops/{target.slug}/features/tiered")
    assert r.status_code == 200 and not {f["key"]: f for f in r.json["features"]}["tiered"]["active"]
    r = client.put(f"/api/v1/platform/shops/{target.slug}/plan", json={"plan": "elite"})
    assert r.status_code == 200 and r.json["plan"] == "elite"
    plans = client.get("/api/v1/platform/plans").json
    assert [p["key"] for p in plans] == ["starter", "professional", "elite", "enterprise"]
    # a platform key has no shop permissions: it is not an admin key of its own shop
    assert client.get("/api/v1/claims").status_code == 403


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("get", "/api/v1/platform/shops/no-such-shop/features", None, 404, "not_found"),
    ("put", "/api/v1/platform/shops/{slug}/features/customisation", None, 422, "validation_error"),
    ("delete", "/api/v1/platform/shops/{slug}/features/sms", None, 422, "validation_error"),
    ("put", "/api/v1/platform/shops/{slug}/plan", {"plan": "platinum"}, 422, "validation_error"),
    ("put", "/api/v1/platform/shops/{slug}/plan", {}, 422, "validation_error"),
    ("put", "/api/v1/platform/shops/{slug}/plan", {"plan": 7}, 422, "validation_error"),
])
def test_platform_api_bad_input(app, make_shop, method, path, body, status, code):
    shop = make_shop()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {_platform_key(app, shop)}"
    before = _states(app, shop)
    kwargs = {"json": body} if body is not None else {}
    r = getattr(client, method)(path.replace("{slug}", shop.slug), **kwargs)
    assert r.status_code == status and r.json["code"] == code
    assert _states(app, shop) == before


def test_shop_admins_cannot_issue_platform_keys(app, make_shop, api_client):
    r = api_client(make_shop()).post("/api/v1/api-keys", json={"name": "sneaky", "scopes": ["platform"]})
    assert r.status_code == 422


def test_every_platform_route_refuses_everyone_but_platform_admins(app, make_shop, make_user, client_for,
                                                                     api_client):
    """The isolation sweep for the cross-shop platform routes: shop A's admin key, owner and group admin
    are refused on every method, for another shop and for their own; a platform admin gets through."""
    a, b = make_shop(), make_shop()
    owner = client_for(make_user(a, "owner"), a)
    group_admin = client_for(make_user(a, group_admin=True), a)
    probes = [("admin key", api_client(a, scopes=("admin",)), {}, (403,)),
              ("owner", owner, {"X-CSRFToken": csrf_token(owner, "/login")}, (403,)),
              ("group admin", group_admin, {"X-CSRFToken": csrf_token(group_admin, "/login")}, (403,)),
              ("anonymous", app.test_client(), {}, (302, 400, 401))]
    rules = [r for r in app.url_map.iter_rules() if "/platform" in r.rule]
    assert len(rules) >= 7
    problems = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for shop in (a, b):
                values = {"shop_slug": shop.slug, "slug": shop.slug, "key": "tiered"}
                url = rule.build({k: v for k, v in values.items() if k in rule.arguments}, append_unknown=False)[1]
                for name, client, headers, expect in probes:
                    if name == "admin key" and not url.startswith("/api/"):
                        expect = (302, 400)  # keys do not log in to the console: the login page, or no CSRF
                    body = {"plan": "elite"} if url.startswith("/api/") else {"csrf_token": headers.get(
                        "X-CSRFToken", ""), "plan": "elite", "feature": "tiered", "action": "grant"}
                    kwargs = {"json": body} if url.startswith("/api/") else {"data": body}
                    r = client.open(url, method=method, headers=headers, **(kwargs if method != "GET" else {}))
                    if r.status_code not in expect:
                        problems.append(f"{method} {rule.rule} as {name} on {shop.slug}: {r.status_code}")
    assert problems == []
    assert _states(app, b) == _states(app, a)  # nothing was granted to either
    admin = client_for(_platform_admin(app, a), a)
    assert admin.get(f"/api/v1/platform/shops/{b.slug}/features").status_code == 200
    assert admin.get(f"/console/platform/shops/{b.slug}").status_code == 200


# -- console -------------------------------------------------------------------------------------------

def test_console_editor_for_platform_admins(app, make_shop, client_for):
    home, target = make_shop(), make_shop(name="Harbor Collision")
    client = client_for(_platform_admin(app, home), home)
    board = client.get("/console/").get_data(as_text=True)
    assert ">Platform</a>" in board
    listing = client.get("/console/platform/", query_string={"q": "harbor"}).get_data(as_text=True)
    assert f'data-shop-slug="{target.slug}"' in listing and f'data-shop-slug="{home.slug}"' not in listing
    token = csrf_token(client, f"/console/platform/shops/{target.slug}")
    CHANGES.clear()
    r = client.post(f"/console/platform/shops/{target.slug}/features",
                    data={"csrf_token": token, "feature": "tiered", "action": "grant"})
    assert r.status_code == 302 and _states(app, target)["tiered"]["addon"] and CHANGES
    r = client.post(f"/console/platform/shops/{target.slug}/plan", data={"csrf_token": token, "plan": "elite"})
    assert r.status_code == 302 and json.loads(_cli(app, "bayline", "features", "list", "--shop", target.slug,
                                                     "--json").output)["plan"] == "elite"
    page = client.get(f"/console/platform/shops/{target.slug}").get_data(as_text=True)
    assert "not installed" in page  # e.g. customisation, on the elite plan, no plugin installed


@pytest.mark.parametrize(("path", "data", "error", "kept"), [
    ("features", {"feature": "brandin", "action": "grant"}, "no installed plugin provides the feature",
     'value="brandin"'),
    ("features", {"feature": "", "action": "grant"}, "name the feature key", 'name="feature" value=""'),
    ("features", {"feature": "tiered", "action": "explode"}, "choose grant or revoke", 'value="tiered"'),
    ("features", {"feature": "sms", "action": "revoke"}, "comes with the", 'value="sms"'),
    ("plan", {"plan": "platinum"}, "unknown plan", 'value="platinum" selected'),
])
def test_console_editor_errors_are_inline_and_keep_the_input(app, make_shop, client_for, path, data, error, kept):
    home = make_shop()
    client = client_for(_platform_admin(app, home), home)
    before = _states(app, home)
    token = csrf_token(client, f"/console/platform/shops/{home.slug}")
    r = client.post(f"/console/platform/shops/{home.slug}/{path}", data={"csrf_token": token, **data})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and error in page and kept in page and 'role="alert"' in page
    assert _states(app, home) == before


def test_console_editor_is_for_platform_admins_only(app, make_shop, make_user, client_for):
    shop = make_shop()
    owner = client_for(make_user(shop, "owner"), shop)
    assert owner.get(f"/console/platform/shops/{shop.slug}").status_code == 403
    assert ">Platform</a>" not in owner.get("/console/").get_data(as_text=True)
    admin = client_for(_platform_admin(app, shop), shop)
    assert admin.get("/console/platform/shops/no-such-shop").status_code == 404
