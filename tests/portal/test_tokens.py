"""Portal links: issued at claim creation, hash-only storage, rotate/revoke/expiry, staff API and isolation."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from bayline.claims import service
from bayline.db import utcnow
from bayline.events import commit
from bayline.portal import tokens
from bayline.portal.models import PortalToken
from bayline.testing.plugin import in_tenant


def test_claim_creation_issues_a_hashed_link(app, make_shop, make_claim):
    shop = make_shop()
    claim = make_claim(shop)
    raw = claim.portal_link.raw
    assert len(raw) >= 43
    with in_tenant(app, shop.id) as session:
        rows = session.scalars(select(PortalToken).where(PortalToken.claim_id == claim.id)).all()
        assert len(rows) == 1 and rows[0].state == "active"
        assert rows[0].token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in {getattr(rows[0], c.key) for c in PortalToken.__table__.columns}
        found = tokens.lookup(raw)
        assert found is not None and found[1].id == claim.id


def test_rotate_revoke_and_expiry(app, make_shop, make_claim):
    shop = make_shop()
    claim = make_claim(shop)
    first = claim.portal_link.raw
    with in_tenant(app, shop.id) as session:
        c = session.get(type(claim), claim.id)
        second = tokens.issue(c).raw
        commit(session)
        assert tokens.lookup(first) is None
        assert tokens.lookup(second) is not None
        assert tokens.revoke(c) == 1
        commit(session)
        assert tokens.lookup(second) is None
        third = tokens.issue(c).raw
        commit(session)
        assert tokens.lookup(third) is not None
        terminal = next(s for s in service.active_stages() if s.terminal)
        service.change_stage(c, terminal)
        commit(session)
        assert tokens.lookup(third) is not None  # still inside the expiry window
        c.delivered_at = utcnow() - timedelta(days=15)
        commit(session)
        assert tokens.lookup(third) is None  # default 14 days after the terminal stage
        assert tokens.lookup("") is None and tokens.lookup("x" * 500) is None


def test_staff_api_issue_and_revoke(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    r = client.post(f"/api/v1/claims/{claim.id}/portal-link")
    assert r.status_code == 201
    url = r.json["url"]
    assert url.startswith("http://localhost/c/")
    status = client.get(f"/api/v1/claims/{claim.id}/portal-link").json
    assert status["active"] is True and status["token_id"] == r.json["token_id"]
    assert "url" not in status
    with in_tenant(app, shop.id):
        assert tokens.lookup(claim.portal_link.raw) is None  # rotated by the new link
        assert tokens.lookup(url.rsplit("/", 1)[1]) is not None
    assert client.delete(f"/api/v1/claims/{claim.id}/portal-link").status_code == 204
    assert client.get(f"/api/v1/claims/{claim.id}/portal-link").json["active"] is False
    with in_tenant(app, shop.id):
        assert tokens.lookup(url.rsplit("/", 1)[1]) is None


def test_portal_link_api_is_tenant_isolated(app, make_shop, make_claim, api_client, make_user, client_for):
    shop_a, shop_b = make_shop(), make_shop()
    claim = make_claim(shop_a)
    other = api_client(shop_b)
    for method in ("get", "post", "delete"):
        assert getattr(other, method)(f"/api/v1/claims/{claim.id}/portal-link").status_code == 404
    staff_b = client_for(make_user(shop_b), shop_b)
    assert staff_b.get(f"/api/v1/claims/{claim.id}/portal-link").status_code == 404
    assert staff_b.get(f"/api/v1/claims/{claim.id}/messages").status_code == 404
    with in_tenant(app, shop_a.id):
        assert tokens.lookup(claim.portal_link.raw) is not None


def test_read_only_key_cannot_issue(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop, scopes=("read",))
    assert client.post(f"/api/v1/claims/{claim.id}/portal-link").status_code == 403
