"""Console stage-set editor and staff management (owners and admins)."""
from __future__ import annotations

from sqlalchemy import select

from bayline.claims.models import Claim, Stage
from bayline.claims.stages import active_stages
from bayline.tenants.models import Membership
from bayline.testing.plugin import in_tenant


def _live(app, shop):
    with in_tenant(app, shop.id):
        return [(s.id, s.name, s.customer_label, s.customer_description, s.hidden, s.terminal)
                for s in active_stages()]


def _roles(app, shop):
    with in_tenant(app, shop.id) as session:
        return {m.user.email: m.role for m in session.scalars(select(Membership))}


def _member(app, shop, user):
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(Membership).where(Membership.user_id == user.id)).id


# -- stages ---------------------------------------------------------------------------------------

def test_admin_edits_a_stage(app, staff):
    shop, _, client, token = staff("admin")
    first = _live(app, shop)[0][0]
    assert "Start from a template" in client.get("/console/stages").get_data(as_text=True)
    r = client.post(f"/console/stages/{first}", data={
        "csrf_token": token, "action": "save", "name": "Check-in", "customer_label": "We have your car",
        "customer_description": "Parked safely.", "hidden": "on"})
    assert r.status_code == 302
    assert _live(app, shop)[0][1:] == ("Check-in", "We have your car", "Parked safely.", True, False)
    # an empty label falls back to the name; unticked boxes clear the flags
    client.post(f"/console/stages/{first}", data={"csrf_token": token, "action": "save", "name": "Arrived",
                                                  "terminal": "on"})
    assert _live(app, shop)[0][1:] == ("Arrived", "Arrived", None, False, True)


def test_stage_errors_keep_the_input(app, staff):
    shop, _, client, token = staff()
    first = _live(app, shop)[0][0]
    before = _live(app, shop)
    r = client.post(f"/console/stages/{first}", data={
        "csrf_token": token, "action": "save", "name": "", "customer_label": "Kept label",
        "customer_description": "Kept description"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'role="alert"' in text
    assert 'value="Kept label"' in text and 'value="Kept description"' in text
    r = client.post(f"/console/stages/{first}", data={"csrf_token": token, "action": "save", "name": "x" * 81})
    assert r.status_code == 422 and "x" * 81 in r.get_data(as_text=True)
    r = client.post("/console/stages/new", data={"csrf_token": token, "name": "Ok", "customer_description": "d" * 501})
    assert r.status_code == 422 and 'value="Ok"' in r.get_data(as_text=True)
    assert client.post(f"/console/stages/{first}", data={"csrf_token": token, "action": "explode"}).status_code == 400
    assert client.post(f"/console/stages/{first}", data={"action": "save", "name": "No token"}).status_code == 400
    assert _live(app, shop) == before


def test_add_reorder_archive_and_template(app, staff, make_claim):
    shop, _, client, token = staff()
    r = client.post("/console/stages/new", data={"csrf_token": token, "name": "Detailing", "hidden": "on"})
    assert r.status_code == 302
    stages = _live(app, shop)
    assert stages[-1][1:] == ("Detailing", "Detailing", None, True, False)
    ids = [s[0] for s in stages]
    client.post(f"/console/stages/{ids[-1]}", data={"csrf_token": token, "action": "up"})
    assert [s[0] for s in _live(app, shop)] == [*ids[:-2], ids[-1], ids[-2]]
    client.post(f"/console/stages/{ids[0]}", data={"csrf_token": token, "action": "up"})  # already first: no-op
    assert _live(app, shop)[0][0] == ids[0]
    # whole order at once; a partial or foreign list is refused
    r = client.post("/console/stages/order", data={"csrf_token": token, "order": list(reversed(ids))})
    assert r.status_code == 302 and [s[0] for s in _live(app, shop)] == list(reversed(ids))
    for bad in (ids[:2], ["x"], [*ids, ids[0]]):
        assert client.post("/console/stages/order", data={"csrf_token": token, "order": bad}).status_code == 422
    # archive: refused while a claim sits there, with the reason
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        on = session.get(Claim, claim.id).stage_id
    r = client.post(f"/console/stages/{on}", data={"csrf_token": token, "action": "archive"})
    assert r.status_code == 422 and "open claim" in r.get_data(as_text=True)
    spare = ids[1]
    r = client.post(f"/console/stages/{spare}", data={"csrf_token": token, "action": "archive"})
    assert r.status_code == 302 and spare not in [s[0] for s in _live(app, shop)]
    assert client.post(f"/console/stages/{spare}", data={"csrf_token": token, "action": "save",
                                                           "name": "Back"}).status_code == 404
    # template: replaces the live set, claims keep their (archived) stage
    r = client.post("/console/stages/template", data={"csrf_token": token, "template": "production"})
    assert r.status_code == 302
    assert on not in [s[0] for s in _live(app, shop)]
    with in_tenant(app, shop.id) as session:
        assert session.get(Claim, claim.id).stage_id == on and session.get(Stage, on).archived_at is not None
    r = client.post("/console/stages/template", data={"csrf_token": token, "template": "nope"})
    assert r.status_code == 422 and "unknown template" in r.get_data(as_text=True)


def test_stages_need_an_admin_and_the_shops_own_stage(app, staff, make_shop):
    shop, _, client, token = staff("advisor")
    first = _live(app, shop)[0][0]
    assert client.get("/console/stages").status_code == 403
    assert client.post(f"/console/stages/{first}", data={"csrf_token": token, "action": "save",
                                                         "name": "Nope"}).status_code == 403
    assert client.post("/console/stages/new", data={"csrf_token": token, "name": "Nope"}).status_code == 403
    _owner_shop, _, owner, owner_token = staff("owner")
    other = make_shop()
    theirs = _live(app, other)[0][0]
    for action in ("save", "archive", "up"):
        r = owner.post(f"/console/stages/{theirs}", data={"csrf_token": owner_token, "action": action, "name": "X"})
        assert r.status_code == 404, action
    assert _live(app, other)[0][1] != "X"
    r = owner.post("/console/stages/99999999999", data={"csrf_token": owner_token, "action": "up"})
    assert r.status_code == 404
    r = owner.post("/console/stages/order", data={"csrf_token": owner_token,
                                                  "order": [s[0] for s in _live(app, other)]})
    assert r.status_code == 422
    assert app.test_client().get("/console/stages").status_code == 302


# -- staff -----------------------------------------------------------------------------------------

def test_owner_adds_changes_and_removes_staff(app, staff, make_user, make_shop):
    """Adding is an invitation (tests/security/test_invitations.py); the person joins on accepting."""
    shop, owner, client, token = staff("owner")
    assert owner.email in client.get("/console/staff").get_data(as_text=True)
    r = client.post("/console/staff/new", data={"csrf_token": token, "email": "New.Person@Example.com",
                                                "name": "New Person", "role": "estimator"})
    assert r.status_code == 302 and "new.person@example.com" not in _roles(app, shop)
    assert "new.person@example.com" in client.get("/console/staff").get_data(as_text=True)  # invited
    elsewhere = make_user(make_shop(), "advisor")
    r = client.post("/console/staff/new", data={"csrf_token": token, "email": elsewhere.email, "name": "x",
                                                "role": "technician"})
    assert r.status_code == 302 and elsewhere.email not in _roles(app, shop)  # never joined silently
    from bayline.auth import invitations
    from bayline.auth.models import StaffInvitation
    from bayline.testing.plugin import in_tenant

    with in_tenant(app, shop.id) as session:
        from sqlalchemy import select

        invitation = session.scalars(select(StaffInvitation).where(StaffInvitation.email == elsewhere.email,
                                                                   StaffInvitation.revoked_at.is_(None))).one()
        invitations.accept(invitation, session.get(type(elsewhere), elsewhere.id))
        session.commit()
    assert _roles(app, shop)[elsewhere.email] == "technician"
    r = client.post("/console/staff/new", data={"csrf_token": token, "email": elsewhere.email, "name": "x",
                                                "role": "advisor"})
    assert r.status_code == 422 and "already on this shop" in r.get_data(as_text=True)
    mid = _member(app, shop, elsewhere)
    assert client.post(f"/console/staff/{mid}", data={"csrf_token": token, "action": "role",
                                                      "role": "owner"}).status_code == 302
    assert _roles(app, shop)[elsewhere.email] == "owner"
    assert client.post(f"/console/staff/{mid}", data={"csrf_token": token, "action": "remove"}).status_code == 302
    assert elsewhere.email not in _roles(app, shop)


def test_staff_rules_one_owner_and_only_owners_make_owners(app, staff, make_user):
    shop, owner, client, token = staff("owner")
    me = _member(app, shop, owner)
    r = client.post(f"/console/staff/{me}", data={"csrf_token": token, "action": "role", "role": "admin"})
    assert r.status_code == 422 and "at least one owner" in r.get_data(as_text=True)
    r = client.post(f"/console/staff/{me}", data={"csrf_token": token, "action": "remove"})
    assert r.status_code == 422 and _roles(app, shop)[owner.email] == "owner"
    admin = make_user(shop, "admin")
    _, _, admin_client, admin_token = staff("admin", shop=shop)
    tech = make_user(shop, "technician")
    tid = _member(app, shop, tech)
    r = admin_client.post(f"/console/staff/{tid}", data={"csrf_token": admin_token, "action": "role", "role": "owner"})
    assert r.status_code == 422 and "Only an owner" in r.get_data(as_text=True)
    r = admin_client.post("/console/staff/new", data={"csrf_token": admin_token, "email": "o@example.com",
                                                      "name": "O", "role": "owner"})
    assert r.status_code == 422 and 'value="o@example.com"' in r.get_data(as_text=True)
    r = admin_client.post(f"/console/staff/{me}", data={"csrf_token": admin_token, "action": "remove"})
    assert r.status_code == 422 and _roles(app, shop)[owner.email] == "owner"
    assert admin_client.post(f"/console/staff/{tid}", data={"csrf_token": admin_token, "action": "role",
                                                            "role": "advisor"}).status_code == 302
    assert _roles(app, shop)[tech.email] == "advisor" and _roles(app, shop)[admin.email] == "admin"


def test_staff_bad_input(app, staff):
    shop, owner, client, token = staff("owner")
    me = _member(app, shop, owner)
    for data in ({"email": "not-an-email", "name": "A", "role": "advisor"},
                 {"email": "a@example.com", "name": "", "role": "advisor"},
                 {"email": "a@example.com", "name": "A", "role": "boss"},
                 {"email": "a@example.com", "name": "A" * 201, "role": "advisor"}):
        r = client.post("/console/staff/new", data={"csrf_token": token, **data})
        assert r.status_code == 422, data
    assert "a@example.com" not in _roles(app, shop)
    assert client.post(f"/console/staff/{me}", data={"csrf_token": token, "action": "role",
                                                     "role": "emperor"}).status_code == 422
    assert client.post(f"/console/staff/{me}", data={"csrf_token": token, "action": "fire"}).status_code == 400
    assert client.post(f"/console/staff/{me}", data={"action": "remove"}).status_code == 400  # no CSRF token
    assert client.post("/console/staff/0", data={"csrf_token": token, "action": "remove"}).status_code == 404


def test_staff_pages_need_an_admin_and_stay_in_the_shop(app, staff, make_user, make_shop):
    _shop, _, client, token = staff("estimator")
    assert client.get("/console/staff").status_code == 403
    assert client.post("/console/staff/new", data={"csrf_token": token, "email": "x@example.com", "name": "X",
                                                   "role": "advisor"}).status_code == 403
    _, _, owner, owner_token = staff("owner")
    other = make_shop()
    victim = make_user(other, "advisor")
    vid = _member(app, other, victim)
    assert victim.email not in owner.get("/console/staff").get_data(as_text=True)
    for data in ({"action": "role", "role": "technician"}, {"action": "remove"}):
        assert owner.post(f"/console/staff/{vid}", data={"csrf_token": owner_token, **data}).status_code == 404
    assert _roles(app, other)[victim.email] == "advisor"
