"""Plan management: every plan and add-on change is in the audit log (who, when, from, to), for the
CLI, the platform API and console, and a group admin's own pages, which reach only the locations of
their group."""
from __future__ import annotations

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def _platform_key(app, shop) -> str:
    result = app.test_cli_runner().invoke(args=["bayline", "rotate-api-key", "--shop", shop.slug, "--name", "ops",
                                                "--scope", "platform"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _changes(app, shop):
    from bayline.tenants import features
    from bayline.tenants.models import Shop

    with in_tenant(app) as session:
        return [(c.kind, c.before, c.after, c.actor) for c in features.changes(session.get(Shop, shop.id))]


def test_platform_api_changes_are_audited(app, make_shop):
    home, target = make_shop(), make_shop(plan="starter")
    key = _platform_key(app, home)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.put(f"/api/v1/platform/shops/{target.slug}/plan", json={"plan": "professional"},
                      headers=headers).status_code == 200
    assert client.put(f"/api/v1/platform/shops/{target.slug}/plan", json={"plan": "professional"},
                      headers=headers).status_code == 200  # no change, no row
    assert client.put(f"/api/v1/platform/shops/{target.slug}/plan", json={"plan": "starter"},
                      headers=headers).status_code == 200
    log = client.get(f"/api/v1/platform/shops/{target.slug}/plan-changes", headers=headers).get_json()
    assert [(r["kind"], r["before"], r["after"], r["actor"]) for r in log] == [
        ("plan", "professional", "starter", "api key ops"), ("plan", "starter", "professional", "api key ops")]
    assert all(r["at"] for r in log)
    r = client.put(f"/api/v1/platform/shops/{target.slug}/plan", json={"plan": "platinum"}, headers=headers)
    assert r.status_code == 422 and len(_changes(app, target)) == 2  # refused: nothing recorded


def test_cli_changes_are_audited(app, make_shop):
    shop = make_shop()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["bayline", "features", "set-plan", "--shop", shop.slug, "elite"]).exit_code == 0
    assert _changes(app, shop) == [("plan", "starter", "elite", "cli")]


def test_group_admin_manages_their_locations_only(app, make_shop, make_user, client_for):
    a1 = make_shop(plan="enterprise")
    a2 = make_shop(plan="starter", group_id=a1.group_id)
    other = make_shop(plan="starter")
    admin_user = make_user(a1, group_admin=True)
    admin = client_for(admin_user, a1)
    token = csrf_token(admin, "/console/")
    r = admin.put(f"/api/v1/group/shops/{a2.slug}/plan", json={"plan": "professional"},
                  headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["plan"] == "professional"
    assert _changes(app, a2) == [("plan", "starter", "professional", admin_user.email)]
    assert admin.put(f"/api/v1/group/shops/{other.slug}/plan", json={"plan": "elite"},
                     headers={"X-CSRFToken": token}).status_code == 404
    assert admin.get(f"/api/v1/group/shops/{other.slug}/plan-changes").status_code == 404
    assert admin.get(f"/api/v1/group/shops/{a2.slug}/plan-changes").get_json()[0]["after"] == "professional"
    assert _changes(app, other) == []
    # the console: the group's locations, the audit log, nobody else's shop
    listing = admin.get("/console/group/plans/").get_data(as_text=True)
    assert f'data-shop-slug="{a2.slug}"' in listing and f'data-shop-slug="{other.slug}"' not in listing
    page = admin.get(f"/console/group/plans/shops/{a2.slug}").get_data(as_text=True)
    assert 'id="plan-changes"' in page and admin_user.email in page
    assert admin.get(f"/console/group/plans/shops/{other.slug}").status_code == 404
    token = csrf_token(admin, f"/console/group/plans/shops/{a2.slug}")
    r = admin.post(f"/console/group/plans/shops/{a2.slug}/plan", data={"csrf_token": token, "plan": "elite"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/console/group/plans/shops/{a2.slug}")
    r = admin.post(f"/console/group/plans/shops/{other.slug}/plan", data={"csrf_token": token, "plan": "elite"})
    assert r.status_code == 404
    assert ">Plans</a>" in admin.get("/console/").get_data(as_text=True)
    # still not the platform's pages
    assert admin.get(f"/console/platform/shops/{a2.slug}").status_code == 403


def test_shop_owners_and_keys_do_not_reach_group_plans(app, make_shop, make_user, client_for, api_client):
    shop = make_shop()
    owner = client_for(make_user(shop, "owner"), shop)
    assert owner.get("/console/group/plans/").status_code == 403
    assert owner.get(f"/api/v1/group/shops/{shop.slug}/features").status_code == 403
    key = api_client(shop, scopes=("admin",))
    assert key.put(f"/api/v1/group/shops/{shop.slug}/plan", json={"plan": "elite"}).status_code == 403
    assert app.test_client().get(f"/api/v1/group/shops/{shop.slug}/features").status_code == 401
