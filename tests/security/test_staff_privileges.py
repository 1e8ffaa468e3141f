"""H3, M2, M8: API keys act for their creator; owners are managed only by owners.

Before the fix: an admin got 403 making themselves owner, minted an ``admin``-scope key (``"*"``) and
the same PATCH through the key answered 200 ``owner``; a removed admin's key kept working (and
re-added them as owner); an admin could DELETE an owner through the API and demote one in the console.
"""
from __future__ import annotations

from sqlalchemy import select

from bayline.tenants.models import Membership
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def _member_id(app, shop, user):
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(Membership.id).where(Membership.user_id == user.id))


def _role(app, shop, user):
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(Membership.role).where(Membership.user_id == user.id))


def _mint_key(app, client, scopes=("admin",)):
    """A key minted by the logged-in ``client`` through the API, as a browser would (CSRF header)."""
    token = csrf_token(client, "/console/")
    r = client.post("/api/v1/api-keys", json={"name": "mine", "scopes": list(scopes)}, headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_json()
    keyed = app.test_client()
    keyed.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['secret']}"
    return keyed, r.get_json()["id"]


def test_an_admins_own_key_cannot_make_them_owner(app, make_shop, make_user, client_for):
    shop = make_shop()
    make_user(shop, "owner")
    admin = make_user(shop, "admin")
    session_client = client_for(admin, shop)
    me = _member_id(app, shop, admin)
    token = csrf_token(session_client, "/console/")
    r = session_client.patch(f"/api/v1/staff/{me}", json={"role": "owner"}, headers={"X-CSRFToken": token})
    assert r.status_code == 403
    keyed, _ = _mint_key(app, session_client)
    r = keyed.patch(f"/api/v1/staff/{me}", json={"role": "owner"})
    assert r.status_code == 403 and r.get_json()["code"] == "owner_required"
    assert _role(app, shop, admin) == "admin"
    # a key minted through that key is the same admin's, not an operator's
    r = keyed.post("/api/v1/api-keys", json={"name": "child", "scopes": ["admin"]})
    assert r.status_code == 201 and r.get_json()["created_by"]["email"] == admin.email
    child = app.test_client()
    child.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['secret']}"
    assert child.patch(f"/api/v1/staff/{me}", json={"role": "owner"}).status_code == 403


def test_a_key_holds_no_more_than_its_creators_role(app, make_shop, make_user, client_for):
    from bayline.auth.context import resolve_principal

    shop = make_shop()
    owner = make_user(shop, "owner")
    tech = make_user(shop, "technician")
    admin = make_user(shop, "admin")
    with in_tenant(app, shop.id) as session:
        from bayline.auth.api_keys import create_api_key

        keys = {who.email: create_api_key(shop.id, "k", ["admin"], who.id)[1] for who in (owner, tech, admin)}
        session.commit()
    perms = {}
    for email, secret in keys.items():
        with app.test_request_context("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"}):
            perms[email] = resolve_principal().permissions
    assert "plan.manage" in perms[owner.email]
    assert "plan.manage" not in perms[admin.email] and "*" not in perms[admin.email]
    assert "staff.manage" in perms[admin.email]
    assert "claims.write" not in perms[tech.email] and "claims.stage" in perms[tech.email]
    tech_client = app.test_client()
    tech_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {keys[tech.email]}"
    assert tech_client.get("/api/v1/api-keys").status_code == 403


def test_a_removed_creators_key_is_suspended(app, make_shop, make_user, client_for, api_client):
    shop = make_shop()
    owner = make_user(shop, "owner")
    admin = make_user(shop, "admin")
    keyed, key_id = _mint_key(app, client_for(admin, shop))
    assert keyed.get("/api/v1/claims").status_code == 200
    owner_api = client_for(owner, shop)
    token = csrf_token(owner_api, "/console/")
    mid = _member_id(app, shop, admin)
    assert owner_api.delete(f"/api/v1/staff/{mid}", headers={"X-CSRFToken": token}).status_code == 204
    assert keyed.get("/api/v1/claims").status_code == 401
    assert keyed.post("/api/v1/staff", json={"email": admin.email, "name": "x", "role": "owner"}).status_code == 401
    listed = {k["id"]: k for k in api_client(shop).get("/api/v1/api-keys").get_json()}
    assert listed[key_id]["suspended"] is True and listed[key_id]["created_by"]["email"] == admin.email
    assert listed[key_id]["scopes"] == ["admin"] and "last_used_at" in listed[key_id]


def test_admins_cannot_remove_or_demote_owners(app, make_shop, make_user, client_for):
    shop = make_shop()
    owner = make_user(shop, "owner")
    second_owner = make_user(shop, "owner")
    admin = make_user(shop, "admin")
    admin_client = client_for(admin, shop)
    token = csrf_token(admin_client, "/console/")
    oid = _member_id(app, shop, owner)
    r = admin_client.delete(f"/api/v1/staff/{oid}", headers={"X-CSRFToken": token})
    assert r.status_code == 403 and r.get_json()["code"] == "owner_required"
    r = admin_client.patch(f"/api/v1/staff/{oid}", json={"role": "advisor"}, headers={"X-CSRFToken": token})
    assert r.status_code == 403
    r = admin_client.post(f"/console/staff/{oid}", data={"csrf_token": token, "action": "role", "role": "advisor"})
    assert r.status_code == 422 and "Only an owner" in r.get_data(as_text=True)
    assert _role(app, shop, owner) == "owner"
    # an owner may demote another owner (one stays)
    owner_client = client_for(owner, shop)
    otoken = csrf_token(owner_client, "/console/")
    sid = _member_id(app, shop, second_owner)
    r = owner_client.patch(f"/api/v1/staff/{sid}", json={"role": "advisor"}, headers={"X-CSRFToken": otoken})
    assert r.status_code == 200 and _role(app, shop, second_owner) == "advisor"


def test_keys_need_a_creator_unless_the_operator_issues_them(app, make_shop):
    import pytest

    from bayline.auth.api_keys import create_api_key

    shop = make_shop()
    with in_tenant(app, shop.id), pytest.raises(ValueError):
        create_api_key(shop.id, "orphan", ["admin"])
