"""A plugin installed as its own package: discovery, migration, plan gating without restart, uninstall."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect

from bayline import create_app
from bayline.db import Base, get_db, get_session
from bayline.events import commit
from bayline.migrate import pending_changes, upgrade_all
from bayline.tenancy import set_tenant
from bayline.tenants import provisioning
from bayline.tenants.models import PlanFeature, Shop
from bayline.testing._core.packaging import forget_modules, install_plugin_copy, write_dist_info
from bayline.testing.conformance import check_plugin
from bayline.testing.forms import csrf_token


@pytest.fixture
def plugin_name():
    name = "w" + secrets.token_hex(3)
    yield name
    forget_modules(f"bayline_{name}")


def _app(database_url, tmp_path):
    return create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "instance"})


def test_installed_plugin_lifecycle(database_url, tmp_path, monkeypatch, plugin_name):
    root = install_plugin_copy(tmp_path / "site", plugin_name)
    monkeypatch.syspath_prepend(str(root))
    app = _app(database_url, tmp_path)
    name = plugin_name

    # discovered through the entry point, listed, conformant
    out = app.test_cli_runner().invoke(args=["plugins", "list"]).output
    assert name in out and "installed" in out
    assert check_plugin(app, name) == []

    # its migration runs, in its own version table
    upgrade_all(app)
    tables = inspect(get_db(app).engine).get_table_names()
    assert f"{name}_notes" in tables and f"alembic_version_{name}" in tables
    assert pending_changes(app) == []

    # the Professional plan grants it; a Starter shop does not have it
    with app.app_context():
        session = get_session()
        session.add(PlanFeature(plan_key="professional", feature=name))
        group = provisioning.create_group("G", f"g-{name}")
        pro = provisioning.create_shop(group, "Pro", slug=f"pro-{name}", plan="professional")
        basic = provisioning.create_shop(group, "Basic", slug=f"basic-{name}", plan="starter")
        owner = provisioning.create_user(f"o@{name}.example", "Owner", "correct-horse-42")
        provisioning.add_membership(owner, pro, "owner")
        provisioning.add_membership(owner, basic, "owner")
        commit()
        pro_id, basic_id, owner_login = pro.id, basic.id, owner.get_id()

    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = owner_login

    def as_shop(shop_id):
        return {"X-Bayline-Shop": str(shop_id)}

    def new_claim(shop_id, number):
        r = client.post("/api/v1/claims", headers={**as_shop(shop_id), "X-CSRFToken": csrf(client)},
                        json={"number": number, "customer_first_name": "A", "customer_last_name": "B"})
        assert r.status_code == 201, r.json
        return r.json["id"]

    pro_claim, basic_claim = new_claim(pro_id, "P-1"), new_claim(basic_id, "B-1")
    token = csrf(client)
    notes = f"/api/v1/plugins/{name}/claims/{{}}/notes"
    r = client.post(notes.format(pro_claim), json={"body": "Paint matched"},
                    headers={**as_shop(pro_id), "X-CSRFToken": token})
    assert r.status_code == 201
    r = client.post(notes.format(basic_claim), json={"body": "nope"},
                    headers={**as_shop(basic_id), "X-CSRFToken": token})
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"

    def panel_shown(shop_id, claim_id):
        with client.session_transaction() as s:
            s["shop_id"] = shop_id
        page = client.get(f"/console/claims/{claim_id}").get_data(as_text=True)
        return f'data-panel="{name}"' in page

    assert panel_shown(pro_id, pro_claim)
    assert not panel_shown(basic_id, basic_claim)

    # the customer portal: the plugin's section shows only where the plan includes the plugin
    with app.app_context():
        from bayline import settings_registry

        for shop_id in (pro_id, basic_id):
            settings_registry.set_values(shop_id, {"portal.verification": "off"}, None)
        set_tenant(basic_id)
        note_cls = next(m.class_ for m in Base.registry.mappers if m.class_.__module__ == f"bayline_{name}.models")
        get_session().add(note_cls(claim_id=basic_claim, body="Waiting on the bumper"))
        commit()

    def portal_page(shop_id, claim_id):
        r = client.post(f"/api/v1/claims/{claim_id}/portal-link", headers={**as_shop(shop_id), "X-CSRFToken": token})
        assert r.status_code in (200, 201), r.get_json()
        customer = app.test_client()
        landing = customer.get(urlsplit(r.get_json()["url"]).path)
        assert landing.status_code in (302, 303)
        return customer.get(landing.headers["Location"]).get_data(as_text=True)

    assert "Paint matched" in portal_page(pro_id, pro_claim)
    assert "Waiting on the bumper" not in portal_page(basic_id, basic_claim)

    # switching the plan turns it on at the next request, no restart
    with app.app_context():
        provisioning.change_plan(get_session().get(Shop, basic_id), "professional")
        commit()
    assert panel_shown(basic_id, basic_claim)
    assert "Waiting on the bumper" in portal_page(basic_id, basic_claim)
    r = client.post(notes.format(basic_claim), json={"body": "now yes"},
                    headers={**as_shop(basic_id), "X-CSRFToken": token})
    assert r.status_code == 201
    # and a shop admin's switch turns it off again
    with app.app_context():
        provisioning.set_feature_enabled(get_session().get(Shop, basic_id), name, False)
        commit()
    assert not panel_shown(basic_id, basic_claim)
    get_db(app).dispose()

    # uninstall: the package is gone; the app starts, serves, migrates; its tables stay
    monkeypatch.syspath_prepend(str(tmp_path / "empty"))
    import sys

    sys.path.remove(str(root))
    forget_modules(f"bayline_{name}")
    app2 = _app(database_url, tmp_path)
    assert name not in app2.extensions["bayline.plugins"].plugins
    upgrade_all(app2)
    assert pending_changes(app2) == []
    client2 = app2.test_client()
    with client2.session_transaction() as s:
        s["_user_id"] = owner_login
        s["shop_id"] = pro_id
    assert client2.get(f"/console/claims/{pro_claim}").status_code == 200
    assert client2.get(f"/plugins/{name}/claims/{pro_claim}/notes").status_code == 404
    assert f"{name}_notes" in inspect(get_db(app2).engine).get_table_names()
    get_db(app2).dispose()


def csrf(client):
    """The CSRF token a logged-in browser would read from a form."""
    return csrf_token(client, "/console/claims/new")


def test_plugin_that_fails_to_import_is_broken_and_app_serves(database_url, tmp_path, monkeypatch, plugin_name):
    root = tmp_path / "site"
    pkg = root / f"bayline_{plugin_name}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('kaboom at import')\n")
    write_dist_info(root, plugin_name, f"bayline_{plugin_name}")
    monkeypatch.syspath_prepend(str(root))
    app = _app(database_url, tmp_path)
    info = app.extensions["bayline.plugins"].plugins[plugin_name]
    assert info.state == "broken" and "kaboom at import" in info.error
    assert app.test_client().get("/healthz").status_code == 200
    out = app.test_cli_runner().invoke(args=["plugins", "list"]).output
    assert plugin_name in out and "broken" in out and "kaboom" in out
    get_db(app).dispose()


def test_misspelled_hook_marks_plugin_broken(database_url, tmp_path, monkeypatch, plugin_name):
    root = tmp_path / "site"
    pkg = root / f"bayline_{plugin_name}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from bayline import hookimpl\n\n@hookimpl\ndef portal_section(claim, viewer):\n    return []\n")
    write_dist_info(root, plugin_name, f"bayline_{plugin_name}")
    monkeypatch.syspath_prepend(str(root))
    app = _app(database_url, tmp_path)
    info = app.extensions["bayline.plugins"].plugins[plugin_name]
    assert info.state == "broken" and "unknown hook 'portal_section'" in info.error
    get_db(app).dispose()


def test_allowlist_and_denylist(database_url, tmp_path, monkeypatch, plugin_name):
    root = install_plugin_copy(tmp_path / "site", plugin_name)
    monkeypatch.syspath_prepend(str(root))
    denied = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i1",
                         "plugins_deny": [plugin_name]})
    assert plugin_name not in denied.extensions["bayline.plugins"].plugins
    allowed = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i2",
                          "plugins_allow": [plugin_name]})
    assert list(p.name for p in allowed.extensions["bayline.plugins"].feature_plugins) == [plugin_name]
    for a in (denied, allowed):
        get_db(a).dispose()


def test_plugins_json_is_admin_only(app, make_shop, make_user, client_for):
    shop = make_shop()
    staff = make_user(shop)
    assert app.test_client().get("/-/plugins.json").status_code == 401
    assert client_for(staff).get("/-/plugins.json").status_code == 403
    with app.app_context():
        from bayline.auth.models import User

        user = get_session().get(User, staff.id)
        user.is_platform_admin = True
        get_session().commit()
    body = client_for(staff).get("/-/plugins.json").get_json()
    assert isinstance(body["plugins"], list)
    assert all({"name", "state", "hooks", "migrations_head"} <= set(p) for p in body["plugins"])
