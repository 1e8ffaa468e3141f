"""Customer portal pages: token entry, verification, lockout, session scope, headers, privacy."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from http.client import HTTPConnection

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bayline.claims import service
from bayline.claims.models import Claim
from bayline.db import utcnow
from bayline.events import commit
from bayline.portal import tokens
from bayline.portal.models import PortalAttempt
from bayline.testing.plugin import in_tenant

from .conftest import csrf_from

NOT_WORKING = "This link isn't working"


def _verify(client, raw, last="Reyes", number=None, pin=None, claim=None):
    page = client.get(f"/c/{raw}")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "last_name": last,
            "claim_number": number if number is not None else claim.number}
    if pin is not None:
        data["pin"] = pin
    return client.post(f"/c/{raw}", data=data)


def test_verification_then_token_less_session(app, make_shop, make_claim):
    shop = make_shop(phone="+16175550199")
    claim = make_claim(shop, vehicle_year=2020, vehicle_make="Subaru", vehicle_model="Outback",
                       insurer="Acme Mutual", internal_notes="supplement fight with adjuster")
    raw = claim.portal_link.raw
    client = app.test_client()
    form = client.get(f"/c/{raw}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "last name" in html
    assert claim.number not in html and "Reyes" not in html and "Subaru" not in html
    wrong = _verify(client, raw, last="Smith", claim=claim)
    assert wrong.status_code == 422 and "match our records" in wrong.get_data(as_text=True)
    ok = _verify(client, raw, last="  reyes ", number=claim.number.lower().replace("-", " "), claim=claim)
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/c/s/")
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and raw not in cookie
    page = client.get("/c/s/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert claim.number in body and "2020 Subaru Outback" in body and "Acme Mutual" in body
    assert 'href="tel:+16175550199"' in body and 'aria-current="step"' in body
    assert "supplement fight" not in body and raw not in body
    # coming back through the link with a session skips the form
    assert client.get(f"/c/{raw}").status_code == 303
    with in_tenant(app, shop.id) as session:
        attempts = session.scalars(select(PortalAttempt).order_by(PortalAttempt.id)).all()
        assert [a.ok for a in attempts] == [False, True]


def test_bad_links_show_friendly_404_without_claim_data(app, make_shop, make_claim, set_setting):
    shop = make_shop()
    claim = make_claim(shop, vehicle_make="Subaru")
    rotated = claim.portal_link.raw
    with in_tenant(app, shop.id) as session:
        c = session.get(Claim, claim.id)
        revoked = tokens.issue(c).raw
        commit(session)
        tokens.revoke(c)
        expired = tokens.issue(c).raw
        c.delivered_at = utcnow() - timedelta(days=30)
        commit(session)
    client = app.test_client()
    for raw in ("nope", "A" * 43, rotated, revoked, expired):
        r = client.get(f"/c/{raw}")
        text = r.get_data(as_text=True)
        assert r.status_code == 404, raw
        assert NOT_WORKING in text
        assert claim.number not in text and "Reyes" not in text and "Subaru" not in text
        assert r.headers["Cache-Control"] == "no-store"


def test_lockout_after_five_failures(app, make_shop, make_claim):
    shop = make_shop(phone="+16175550199")
    claim = make_claim(shop)
    raw = claim.portal_link.raw
    client = app.test_client()
    for _ in range(4):
        assert _verify(client, raw, last="Wrong", claim=claim).status_code == 422
    fifth = _verify(client, raw, last="Wrong", claim=claim)
    assert fifth.status_code == 429 and "Too many tries" in fifth.get_data(as_text=True)
    locked = client.get(f"/c/{raw}")
    assert locked.status_code == 429 and "tel:+16175550199" in locked.get_data(as_text=True)
    # even the right answer is refused while locked, from another browser too
    other = app.test_client()
    assert other.get(f"/c/{raw}").status_code == 429
    assert other.get("/c/s/").status_code == 404
    with in_tenant(app, shop.id) as session:
        rows = session.scalars(select(PortalAttempt).where(PortalAttempt.claim_id == claim.id)).all()
        assert len(rows) == 5 and not any(r.ok for r in rows)
        for row in rows:  # the window passes
            row.at = utcnow() - timedelta(minutes=16)
        commit(session)
    assert _verify(app.test_client(), raw, claim=claim).status_code == 303


def test_verification_modes(app, make_shop, make_claim, set_setting):
    shop = make_shop()
    claim = make_claim(shop)
    raw = claim.portal_link.raw
    set_setting(shop, "portal.verification", "name_claim_pin")
    set_setting(shop, "portal.pin", "4321")
    client = app.test_client()
    assert 'name="pin"' in client.get(f"/c/{raw}").get_data(as_text=True)
    assert _verify(client, raw, claim=claim, pin="1111").status_code == 422
    assert _verify(client, raw, claim=claim, pin=" 4321 ").status_code == 303
    set_setting(shop, "portal.verification", "off")
    fresh = app.test_client()
    r = fresh.get(f"/c/{raw}")
    assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/")
    assert claim.number in fresh.get("/c/s/").get_data(as_text=True)


def test_private_headers_and_robots(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = portal_client(claim)
    for path in ("/c/s/", f"/c/{claim.portal_link.raw}", "/c/unknown-token-value-here"):
        r = client.get(path) if path == "/c/s/" else app.test_client().get(path)
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Robots-Tag"].startswith("noindex")
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    robots = app.test_client().get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /c/" in robots


def test_session_is_scoped_to_one_claim(app, make_shop, make_claim, portal_client):
    shop, other_shop = make_shop(), make_shop()
    claim_a = make_claim(shop, vehicle_make="Alpha")
    claim_b = make_claim(shop, vehicle_make="Bravo")
    claim_c = make_claim(other_shop, vehicle_make="Charlie")
    client = portal_client(claim_a)
    body = client.get("/c/s/").get_data(as_text=True)
    assert "Alpha" in body and "Bravo" not in body and claim_b.number not in body
    with in_tenant(app, shop.id) as session:
        token_a = tokens.active_token(session.get(Claim, claim_a.id)).id
    with client.session_transaction() as sess:
        session_a = sess["portal"]["i"]
    # a session entry that pairs A's link and session with claim B, or with another shop, reads nothing
    for forged in ({"c": claim_b.id, "s": shop.id, "t": token_a, "i": session_a},
                   {"c": claim_c.id, "s": other_shop.id, "t": token_a, "i": session_a},
                   {"c": claim_a.id, "s": other_shop.id, "t": token_a, "i": session_a},
                   {"c": claim_a.id, "s": shop.id, "t": token_a}):
        forger = app.test_client()
        with forger.session_transaction() as sess:
            sess["portal"] = forged
        r = forger.get("/c/s/")
        text = r.get_data(as_text=True)
        assert r.status_code == 404 and "Bravo" not in text and "Charlie" not in text and "Alpha" not in text


def test_revoking_the_link_ends_the_session(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = portal_client(claim)
    assert client.get("/c/s/").status_code == 200
    with in_tenant(app, shop.id) as session:
        tokens.revoke(session.get(Claim, claim.id))
        commit(session)
    assert client.get("/c/s/").status_code == 404


def test_rotation_keeps_a_verified_session(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = portal_client(claim)
    with in_tenant(app, shop.id) as session:
        tokens.issue(session.get(Claim, claim.id))
        commit(session)
    assert client.get("/c/s/").status_code == 200
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 404


def test_what_the_customer_sees_follows_shop_settings(app, make_shop, make_claim, portal_client, set_setting):
    shop = make_shop()
    claim = make_claim(shop, insurer="Acme Mutual", eta=utcnow().date() + timedelta(days=3))
    client = portal_client(claim)
    body = client.get("/c/s/").get_data(as_text=True)
    assert "Acme Mutual" in body and "Estimated ready" in body
    set_setting(shop, "portal.show_insurer", False)
    set_setting(shop, "portal.show_eta", False)
    body = client.get("/c/s/").get_data(as_text=True)
    assert "Acme Mutual" not in body and "Estimated ready" not in body


def test_timeline_past_current_and_hidden_stages(app, make_shop, make_claim, portal_client, set_setting):
    shop = make_shop()
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        stages = service.active_stages()
        stages[1].hidden = True
        stages[1].customer_label = "Secret step"
        c = session.get(Claim, claim.id)
        service.change_stage(c, stages[2])
        commit(session)
        third = stages[2].customer_label
    client = portal_client(claim)
    body = client.get("/c/s/").get_data(as_text=True)
    assert "Secret step" not in body
    assert 'class="step current" aria-current="step">\n      <span class="label">' + third in body
    assert body.count('class="step past"') == 1
    set_setting(shop, "portal.show_hidden_stages", True)
    assert "Secret step" in client.get("/c/s/").get_data(as_text=True)


def test_portal_needs_the_portal_feature(app, make_shop, make_claim, portal_client):
    from bayline.tenants.models import Shop, ShopFeatureToggle

    shop = make_shop()
    claim = make_claim(shop)
    client = portal_client(claim)
    with in_tenant(app, shop.id) as session:
        session.add(ShopFeatureToggle(tenant_id=shop.id, feature="portal", enabled=False))
        session.get(Shop, shop.id).entitlements_version += 1
        commit(session)
    assert client.get("/c/s/").status_code == 404
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 404


def test_staff_login_does_not_change_the_portal_shop(app, make_shop, make_claim, make_user, client_for):
    shop_a, shop_b = make_shop(), make_shop()
    claim = make_claim(shop_a, vehicle_make="Alpha")
    staff_b = client_for(make_user(shop_b), shop_b)
    r = staff_b.get(f"/c/{claim.portal_link.raw}")
    assert r.status_code == 200 and "last name" in r.get_data(as_text=True)


@pytest.fixture
def served_app(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_tokens_never_reach_the_logs(app, make_shop, make_claim, served_app, caplog):
    shop = make_shop()
    claim = make_claim(shop)
    raw = claim.portal_link.raw
    caplog.set_level(logging.DEBUG)
    conn = HTTPConnection("127.0.0.1", served_app.server_port, timeout=10)
    for path in (f"/c/{raw}", f"/c/{raw}?x=1", "/c/AnotherUnknownTokenValue123"):
        conn.request("GET", path)
        conn.getresponse().read()
    logging.getLogger("bayline.test").warning("customer opened %s", f"https://shop.example/c/{raw}")
    logging.getLogger("gunicorn.access").info('"GET /c/' + raw + ' HTTP/1.1" 200')
    assert caplog.records, "the server logged nothing; the test would prove nothing"
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert raw not in text and "AnotherUnknownTokenValue123" not in text
    assert "/c/[redacted]" in text


def test_expired_link_page_names_the_shop_to_call(app, make_shop, make_claim):
    shop = make_shop(name="Harbor Collision", phone="+16175550199")
    claim = make_claim(shop, vehicle_make="Subaru")
    with in_tenant(app, shop.id) as session:
        c = session.get(Claim, claim.id)
        c.delivered_at = utcnow() - timedelta(days=30)
        commit(session)
    r = app.test_client().get(f"/c/{claim.portal_link.raw}")
    text = r.get_data(as_text=True)
    assert r.status_code == 404 and "Harbor Collision" in text and "tel:+16175550199" in text
    assert claim.number not in text and "Subaru" not in text and "Reyes" not in text
    unknown = app.test_client().get("/c/" + "B" * 43).get_data(as_text=True)
    assert "Harbor Collision" not in unknown and "call the shop" in unknown
