"""H2: adding staff is an invitation the person accepts; nobody sets another person's password.

Before the fix ``POST /api/v1/staff`` created a user with a caller-chosen password (shop B made
``newhire@harbor.example`` with its own password, removed the membership, Harbor later added that
email and shop B logged in to Harbor), joined an existing account silently, and answered with the
real name of any existing account.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from bayline.auth.models import User
from bayline.tenants.models import Membership
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

PASSWORD = "correct-horse-42"


def _link(app, email):
    mails = [m for m in app.extensions.get("bayline.outbox", []) if m["to"] == email]
    assert mails, f"no mail to {email}"
    match = re.search(r"http://localhost(/invite/[A-Za-z0-9_\-]+)", mails[-1]["body"])
    assert match, mails[-1]["body"]
    return match.group(1)


def _members(app, shop):
    with in_tenant(app, shop.id) as session:
        return {m.user.email: m.role for m in session.scalars(select(Membership))}


def _login(client, email, password=PASSWORD, nxt=None):
    token = csrf_token(client, "/login")
    return client.post("/login", query_string={"next": nxt} if nxt else {},
                       data={"email": email, "password": password, "csrf_token": token})


def test_the_api_cannot_set_a_password(app, make_shop, api_client):
    client = api_client(make_shop())
    r = client.post("/api/v1/staff", json={"email": "newhire@harbor.example", "name": "N", "role": "advisor",
                                           "password": "Shop-B-knows-42"})
    assert r.status_code == 422 and "password" in r.get_json()["errors"]["json"]
    with in_tenant(app) as session:
        assert session.scalar(select(User).where(User.email == "newhire@harbor.example")) is None


def test_pre_provisioning_gives_no_access(app, make_shop, make_user, api_client):
    harbor, shop_b = make_shop(name="Harbor"), make_shop(name="Shop B")
    b = api_client(shop_b)
    r = b.post("/api/v1/staff", json={"email": "newhire@harbor.example", "name": "N", "role": "advisor"})
    assert r.status_code == 202 and r.get_json()["state"] == "pending"
    assert "newhire@harbor.example" not in _members(app, shop_b)
    with in_tenant(app) as session:  # no account exists until the person accepts
        assert session.scalar(select(User).where(User.email == "newhire@harbor.example")) is None
    # the real new hire accepts Harbor's invitation with their own password; shop B's link is dead
    api_client(harbor).post("/api/v1/staff", json={"email": "newhire@harbor.example", "name": "N",
                                                   "role": "estimator"})
    link = _link(app, "newhire@harbor.example")
    person = app.test_client()
    page = person.get(link)
    assert page.status_code == 200 and "Harbor" in page.get_data(as_text=True)
    r = person.post(link, data={"csrf_token": csrf_token(page), "name": "New Hire", "password": "Own-secret-77",
                                "confirm": "Own-secret-77"})
    assert r.status_code == 302
    assert _members(app, harbor)["newhire@harbor.example"] == "estimator"
    assert "newhire@harbor.example" not in _members(app, shop_b)
    assert person.get(link).status_code == 400  # single use


def test_responses_never_reveal_an_account_elsewhere(app, make_shop, make_user, api_client):
    harbor, other = make_shop(), make_shop()
    existing = make_user(harbor, "owner", email="boss@harbor.example")
    client = api_client(other)
    known = client.post("/api/v1/staff", json={"email": existing.email, "name": "Guess", "role": "advisor"})
    unknown = client.post("/api/v1/staff", json={"email": "nobody@harbor.example", "name": "Guess",
                                                 "role": "advisor"})
    assert known.status_code == unknown.status_code == 202
    assert set(known.get_json()) == set(unknown.get_json())
    assert existing.name not in known.get_data(as_text=True)
    assert known.get_json()["name"] == "Guess"
    assert existing.email not in _members(app, other)  # not joined silently


def test_an_existing_account_accepts_with_its_own_login(app, make_shop, make_user, api_client):
    harbor, other = make_shop(name="Harbor"), make_shop(name="Other")
    person = make_user(other, "advisor", email="tech@example.com")
    intruder = make_user(other, "advisor", email="intruder@example.com")
    api_client(harbor).post("/api/v1/staff", json={"email": person.email, "name": "T", "role": "technician"})
    link = _link(app, person.email)
    anonymous = app.test_client()
    page = anonymous.get(link).get_data(as_text=True)
    assert "Log in as tech@example.com" in page and 'name="password"' not in page
    assert anonymous.post(link, data={"csrf_token": csrf_token(anonymous, "/login")}).status_code == 200
    assert person.email not in _members(app, harbor)
    wrong = app.test_client()
    _login(wrong, intruder.email)
    page = wrong.get(link)
    assert "You are logged in as intruder@example.com" in page.get_data(as_text=True)
    wrong.post(link, data={"csrf_token": csrf_token(wrong, "/console/")})
    assert intruder.email not in _members(app, harbor) and person.email not in _members(app, harbor)
    right = app.test_client()
    assert _login(right, person.email, nxt=link).headers["Location"] == link
    page = right.get(link)
    assert right.post(link, data={"csrf_token": csrf_token(page)}).status_code == 302
    assert _members(app, harbor)[person.email] == "technician"


def test_withdrawn_and_bad_links(app, make_shop, make_user, api_client, client_for):
    shop = make_shop()
    console = client_for(make_user(shop, "owner"), shop)
    token = csrf_token(console, "/console/staff")
    r = console.post("/console/staff/new", data={"csrf_token": token, "email": "w@example.com", "name": "W",
                                                 "role": "advisor"})
    assert r.status_code == 302 and "w@example.com" in console.get("/console/staff").get_data(as_text=True)
    link = _link(app, "w@example.com")
    listed = api_client(shop).get("/api/v1/staff/invitations").get_json()
    inv = next(i for i in listed if i["email"] == "w@example.com")
    assert api_client(make_shop()).delete(f"/api/v1/staff/invitations/{inv['id']}").status_code == 404
    assert app.test_client().get(link).status_code == 200
    assert api_client(shop).delete(f"/api/v1/staff/invitations/{inv['id']}").status_code == 204
    assert app.test_client().get(link).status_code == 400
    assert app.test_client().get("/invite/not-a-real-token").status_code == 400


def test_new_person_form_errors_keep_the_name(app, make_shop, api_client):
    shop = make_shop()
    api_client(shop).post("/api/v1/staff", json={"email": "p@example.com", "name": "Pat", "role": "advisor"})
    link = _link(app, "p@example.com")
    client = app.test_client()
    token = csrf_token(client, link)
    r = client.post(link, data={"csrf_token": token, "name": "Pat Q", "password": "short", "confirm": "short"})
    assert r.status_code == 422 and 'value="Pat Q"' in r.get_data(as_text=True)
    assert "p@example.com" not in _members(app, shop)
