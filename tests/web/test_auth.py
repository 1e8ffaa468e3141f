"""Staff login, CSRF, rate limiting, password reset, logout, shop switching and role checks in the console.

Every form POST carries the CSRF token read from the page, as a browser would.
"""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from bayline.auth.reset import MAX_AGE, SALT
from bayline.testing.forms import csrf_token

PASSWORD = "correct-horse-42"


token_from = csrf_token


def login(client: FlaskClient, email: str, password: str = PASSWORD, **query: str):
    token = token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", query_string=query, data={"email": email, "password": password,
                                                           "csrf_token": token})


def page_token(client: FlaskClient, url: str = "/console/") -> str:
    return token_from(client.get(url).get_data(as_text=True))


@pytest.fixture
def shop(make_shop):
    return make_shop(name="Maple Body Works")


@pytest.fixture
def owner(make_user, shop):
    return make_user(shop, email="owner@maple.example")


def test_login_with_the_right_password_shows_the_shops_board(app, shop, owner, make_shop, make_claim):
    make_claim(shop, number="RO-MAPLE-1")
    make_claim(make_shop(), number="RO-OTHER-9")
    client = app.test_client()
    r = login(client, "Owner@Maple.example ")
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/")
    board = client.get("/console/")
    assert board.status_code == 200
    text = board.get_data(as_text=True)
    assert "Maple Body Works" in text and "RO-MAPLE-1" in text and "RO-OTHER-9" not in text


def test_wrong_password_or_unknown_email_is_401_page(app, owner):
    client = app.test_client()
    for email, password in [("owner@maple.example", "wrong-horse-42"), ("nobody@maple.example", PASSWORD),
                            ("owner@maple.example", "")]:
        r = login(client, email, password)
        assert r.status_code == 401 and "match" in r.get_data(as_text=True)
        assert r.mimetype == "text/html"
    assert client.get("/console/").status_code == 302  # still not logged in


def test_deactivated_user_cannot_log_in(app, owner):
    from bayline.auth.models import User
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        session.get(User, owner.id).is_active = False
        session.commit()
    assert login(app.test_client(), "owner@maple.example").status_code == 401


def test_login_redirect_stays_on_this_site(app, owner):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "/\\/evil.example",
                   "\\\\evil.example", "/%5Cevil.example"):
        client = app.test_client()
        r = login(client, "owner@maple.example", next=target)
        assert r.status_code == 302
        location = r.headers["Location"]
        # a same-site path: no host, and nothing a browser reads as one (``//x``, ``/\x``)
        assert urlsplit(location).netloc in ("", "localhost"), (target, location)
        assert not re.match(r"^(https?:)?[/\\]{2}|^/\\", location), (target, location)
    r = login(app.test_client(), "owner@maple.example", next="/console/claims/new")
    assert r.headers["Location"].endswith("/console/claims/new")


def test_csrf_token_is_required_on_login(app, owner):
    client = app.test_client()
    client.get("/login")
    r = client.post("/login", data={"email": "owner@maple.example", "password": PASSWORD})
    assert r.status_code == 400
    r = client.post("/login", data={"email": "owner@maple.example", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400
    # a token from another browser's session does not work either
    other = app.test_client()
    stolen = token_from(other.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": "owner@maple.example", "password": PASSWORD, "csrf_token": stolen})
    assert r.status_code == 400
    assert client.get("/console/").status_code == 302


def test_csrf_token_is_required_on_console_forms(app, shop, owner, make_claim):
    claim = make_claim(shop)
    client = app.test_client()
    login(client, "owner@maple.example")
    eta = (date.today() + timedelta(days=4)).isoformat()
    url = f"/console/claims/{claim.id}/eta"
    assert client.post(url, data={"eta": eta}).status_code == 400
    assert client.post(url, data={"eta": eta, "csrf_token": "nope"}).status_code == 400
    # the JSON API under a cookie session needs the token too (header form)
    assert client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": eta}).status_code == 400
    assert client.get(f"/console/claims/{claim.id}").get_data(as_text=True).count(eta) == 0
    token = page_token(client, f"/console/claims/{claim.id}")
    r = client.post(url, data={"eta": eta, "csrf_token": token})
    assert r.status_code == 302
    assert eta in client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    r = client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": None}, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json["eta"] is None
    # the new-claim form and logout are protected the same way
    r = client.post("/console/claims/new", data={"number": "RO-CSRF", "customer_first_name": "A",
                                                 "customer_last_name": "B"})
    assert r.status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def test_login_is_rate_limited(app, owner):
    client = app.test_client()
    statuses = [login(client, "owner@maple.example", "wrong-horse-42").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # even the right password is refused until the window passes
    r = login(client, "owner@maple.example")
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert client.get("/console/").status_code == 302


def reset_link(app, email: str) -> str:
    outbox = app.extensions.get("bayline.outbox", [])
    mails = [m for m in outbox if m["to"] == email]
    assert mails, f"no mail to {email}"
    match = re.search(r"http://localhost(/reset/\S+)", mails[-1]["body"])
    assert match, mails[-1]["body"]
    return match.group(1)


def ask_reset(client: FlaskClient, email: str):
    token = token_from(client.get("/forgot").get_data(as_text=True))
    return client.post("/forgot", data={"email": email, "csrf_token": token})


def choose_password(client: FlaskClient, link: str, password: str, confirm: str | None = None):
    page = client.get(link)
    if page.status_code != 200:
        return page
    return client.post(link, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": token_from(page.get_data(as_text=True))})


def test_password_reset_flow(app, owner):
    client = app.test_client()
    # an unknown address gets the same answer and no mail
    before = len(app.extensions.get("bayline.outbox", []))
    r = ask_reset(client, "nobody@maple.example")
    assert r.status_code == 200 and "on its way" in r.get_data(as_text=True)
    assert len(app.extensions.get("bayline.outbox", [])) == before
    assert ask_reset(client, "owner@maple.example").status_code == 200
    link = reset_link(app, "owner@maple.example")

    # mismatched and weak passwords are refused and change nothing
    assert choose_password(client, link, "new-battery-staple-7", "other-battery-staple-7").status_code == 200
    assert choose_password(client, link, "short").status_code == 200
    assert login(app.test_client(), "owner@maple.example").status_code == 302

    r = choose_password(client, link, "new-battery-staple-7")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert login(app.test_client(), "owner@maple.example").status_code == 401
    assert login(app.test_client(), "owner@maple.example", "new-battery-staple-7").status_code == 302

    # the link worked once: now it is invalid, for GET and POST
    assert client.get(link).status_code == 400
    r = client.post(link, data={"password": "third-battery-staple-7", "confirm": "third-battery-staple-7",
                                "csrf_token": token_from(client.get("/login").get_data(as_text=True))})
    assert r.status_code == 400
    assert login(app.test_client(), "owner@maple.example", "new-battery-staple-7").status_code == 302


def test_new_password_ends_every_session_made_with_the_old_one(app, owner):
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, "owner@maple.example").status_code == 302
    assert login(phone, "owner@maple.example").status_code == 302
    assert laptop.get("/console/").status_code == 200 and phone.get("/console/").status_code == 200
    stranger = app.test_client()  # someone holding the old password's session (say, a stolen laptop)
    ask_reset(stranger, "owner@maple.example")
    assert choose_password(stranger, reset_link(app, "owner@maple.example"), "new-battery-staple-7").status_code == 302
    for client in (laptop, phone):
        gone = client.get("/console/")
        assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    fresh = app.test_client()
    assert login(fresh, "owner@maple.example", "new-battery-staple-7").status_code == 302
    assert fresh.get("/console/").status_code == 200


def test_reset_link_dies_when_the_password_changes_another_way(app, owner):
    client = app.test_client()
    ask_reset(client, "owner@maple.example")
    first = reset_link(app, "owner@maple.example")
    ask_reset(client, "owner@maple.example")
    second = reset_link(app, "owner@maple.example")
    assert choose_password(client, second, "new-battery-staple-7").status_code == 302
    assert client.get(first).status_code == 400


def test_reset_link_expires_and_forgeries_fail(app, owner):
    client = app.test_client()
    ask_reset(client, "owner@maple.example")
    token = reset_link(app, "owner@maple.example").rsplit("/", 1)[1]
    payload = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT).loads(token)

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - MAX_AGE - 60

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT, signer=Backdated).dumps(payload)
    assert client.get(f"/reset/{old}").status_code == 400
    forged = URLSafeTimedSerializer("not-the-key", salt=SALT).dumps(payload)
    assert client.get(f"/reset/{forged}").status_code == 400
    assert client.get(f"/reset/{token[:-3]}xyz").status_code == 400
    # a genuine link for another purpose (other salt) is no reset link
    other = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="something-else").dumps(payload)
    assert client.get(f"/reset/{other}").status_code == 400
    assert client.get(f"/reset/{token}").status_code == 200


def test_logout(app, owner):
    client = app.test_client()
    login(client, "owner@maple.example")
    assert client.get("/console/").status_code == 200
    r = client.post("/logout", data={"csrf_token": page_token(client)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert client.get("/console/").status_code == 302
    assert client.get("/api/v1/claims").status_code == 401


def test_cannot_switch_to_a_shop_you_do_not_work_at(app, shop, owner, make_shop, make_user, make_claim):
    second = make_shop(name="Second Bay", group_id=shop.group_id)
    make_user(second, email="x-" + owner.email)  # someone else's membership there
    outsider = make_shop(name="Outsider Collision")
    make_claim(outsider, number="RO-OUT-1")
    client = app.test_client()
    login(client, "owner@maple.example")
    token = page_token(client)
    for target in (outsider.id, second.id, "", "abc", 10**30):
        r = client.post("/switch-shop", data={"shop_id": str(target), "csrf_token": token})
        assert r.status_code == 404, target
    board = client.get("/console/").get_data(as_text=True)
    assert "Maple Body Works" in board and "RO-OUT-1" not in board
    # the API header cannot pick it either
    r = client.get("/api/v1/claims", headers={"X-Bayline-Shop": str(outsider.id)})
    assert r.status_code == 200 and all(c["shop_id"] == shop.id for c in r.json)


def test_switching_between_own_shops(app, shop, owner, make_shop, make_user, make_claim):
    from bayline.auth.models import User
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    second = make_shop(name="Second Bay")
    with in_tenant(app) as session:
        provisioning.add_membership(session.get(User, owner.id), session.get(Shop, second.id), "advisor")
        session.commit()
    make_claim(second, number="RO-SECOND-1")
    client = app.test_client()
    login(client, "owner@maple.example")
    r = client.post("/switch-shop", data={"shop_id": str(second.id), "csrf_token": page_token(client)})
    assert r.status_code == 302
    board = client.get("/console/").get_data(as_text=True)
    assert "Second Bay" in board and "RO-SECOND-1" in board


def test_technician_cannot_change_eta(app, shop, make_user, make_claim):
    claim = make_claim(shop)
    make_user(shop, role="technician", email="tech@maple.example")
    client = app.test_client()
    assert login(client, "tech@maple.example").status_code == 302
    token = page_token(client, f"/console/claims/{claim.id}")
    eta = (date.today() + timedelta(days=2)).isoformat()
    assert client.post(f"/console/claims/{claim.id}/eta", data={"eta": eta, "csrf_token": token}).status_code == 403
    r = client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": eta}, headers={"X-CSRFToken": token})
    assert r.status_code == 403 and r.json["code"] == "permission_denied"
    assert client.get(f"/api/v1/claims/{claim.id}").json["eta"] is None
    # but a technician may move the claim along the board
    stages = client.get("/api/v1/stages").json
    r = client.post(f"/console/claims/{claim.id}/stage", data={"stage_id": stages[1]["id"], "csrf_token": token})
    assert r.status_code == 302
    assert client.get(f"/api/v1/claims/{claim.id}").json["stage_id"] == stages[1]["id"]
