"""Console: moving cards (buttons, and the board's drag-and-drop fetch), the claim list, the claim
page's verification attempts."""
from __future__ import annotations

from bayline.claims.models import Claim
from bayline.portal import tokens, verify
from bayline.testing.plugin import in_tenant


def _stages(app, shop):
    from bayline.claims.stages import active_stages

    with in_tenant(app, shop.id):
        return [s.id for s in active_stages()]


def _stage_of(app, claim):
    with in_tenant(app, claim.tenant_id) as session:
        return session.get(Claim, claim.id).stage_id


def test_board_cards_are_draggable_and_post_with_the_csrf_header(app, staff, make_claim):
    shop, _, client, token = staff("technician")
    claim = make_claim(shop)
    stages = _stages(app, shop)
    page = client.get("/console/").get_data(as_text=True)
    assert f'data-claim-id="{claim.id}" draggable="true" data-move-url="/console/claims/{claim.id}/stage"' in page
    assert 'name="csrf-token"' in page and "console.js" in page
    assert f'aria-label="Move {claim.number} to' in page  # the keyboard buttons stay
    # what console.js sends: the token in X-CSRFToken, asking for JSON
    r = client.post(f"/console/claims/{claim.id}/stage", data={"stage_id": stages[2]},
                    headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 200 and r.json["stage_id"] == stages[2] and r.json["claim_id"] == claim.id
    assert _stage_of(app, claim) == stages[2]
    # without the token the move is refused
    r = client.post(f"/console/claims/{claim.id}/stage", data={"stage_id": stages[1]},
                    headers={"Accept": "application/json"})
    assert r.status_code == 400 and _stage_of(app, claim) == stages[2]


def test_move_refuses_bad_and_foreign_stages(app, staff, make_claim, make_shop):
    shop, _, client, token = staff()
    claim = make_claim(shop)
    other = make_shop()
    foreign = _stages(app, other)[1]
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for bad in ("", "abc", str(foreign), "99999999999999999999", "-1"):
        r = client.post(f"/console/claims/{claim.id}/stage", data={"stage_id": bad}, headers=headers)
        assert r.status_code == 400, bad
        assert r.json["code"] == "invalid_stage"
    # the form post (no JSON) still redirects, and only within the console
    r = client.post(f"/console/claims/{claim.id}/stage", data={"csrf_token": token, "stage_id": _stages(app, shop)[1],
                                                                "back": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == f"/console/claims/{claim.id}"


def test_move_is_404_for_another_shops_claim(app, staff, make_claim, make_shop):
    _shop, _, client, token = staff()
    other = make_shop()
    theirs = make_claim(other)
    r = client.post(f"/console/claims/{theirs.id}/stage", data={"stage_id": _stages(app, other)[1]},
                    headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 404 and _stage_of(app, theirs) == _stages(app, other)[0]


def test_claim_list_search_filter_and_pages(app, staff, make_claim):
    shop, _, client, _ = staff("estimator")
    stages = _stages(app, shop)
    make_claim(shop, number="RO-777", customer_last_name="Brennan", vin="1HGCM82633A004352", plate="7XY-123")
    for n in range(30):
        make_claim(shop, number=f"BULK-{n:02d}", customer_first_name="Ann", customer_last_name=f"Bulk{n}")
    text = client.get("/console/claims").get_data(as_text=True)
    assert "31 claims" in text and "page 1 of 2" in text and 'rel="next"' in text
    assert client.get("/console/claims?page=2").get_data(as_text=True).count('data-claim-id="') == 6
    for q in ("RO-777", "brennan", "004352", "7xy", "Dana Brennan"):
        page = client.get("/console/claims", query_string={"q": q}).get_data(as_text=True)
        assert "RO-777" in page and "1 claim" in page and "BULK-" not in page, q
    # LIKE wildcards are literal
    assert "0 claims" in client.get("/console/claims?q=%25").get_data(as_text=True)
    assert "0 claims" in client.get("/console/claims?q=_").get_data(as_text=True)
    # stage filter
    with in_tenant(app, shop.id) as session:
        from bayline.claims import service
        from bayline.events import commit

        c = session.scalar(__import__("sqlalchemy").select(Claim).where(Claim.number == "RO-777"))
        service.change_stage(c, service.get_stage(stages[3]))
        commit(session)
    page = client.get(f"/console/claims?stage_id={stages[3]}").get_data(as_text=True)
    assert "RO-777" in page and "1 claim" in page
    # pagination keeps the filters
    page = client.get("/console/claims?q=BULK").get_data(as_text=True)
    assert "q=BULK" in page and "page=2" in page


def test_claim_list_bad_input(app, staff, make_shop):
    _shop, _, client, _ = staff()
    foreign = _stages(app, make_shop())[0]
    assert client.get("/console/claims?page=abc").status_code == 400
    assert client.get("/console/claims?page=0").status_code == 404
    assert client.get("/console/claims?page=99999999999999999999999").status_code == 404
    assert client.get("/console/claims?stage_id=x").status_code == 400
    assert client.get(f"/console/claims?stage_id={foreign}").status_code == 400
    assert client.get("/console/claims?q=" + "a" * 5000).status_code == 200
    assert client.get("/console/claims?q=%00").status_code in (200, 400)


def test_claim_list_never_shows_another_shops_claims(app, staff, make_claim, make_shop):
    shop, _, client, _ = staff()
    make_claim(shop, number="MINE-1")
    make_claim(make_shop(), number="THEIRS-1", customer_last_name="Elsewhere")
    page = client.get("/console/claims?q=THEIRS").get_data(as_text=True)
    assert "THEIRS-1" not in page and "0 claims" in page
    page = client.get("/console/claims").get_data(as_text=True)
    assert "MINE-1" in page and "THEIRS-1" not in page
    assert client.get("/console/claims").status_code == 200
    assert app.test_client().get("/console/claims").status_code == 302  # anonymous → login


def test_claim_page_lists_verification_attempts(app, staff, make_claim):
    shop, _, client, _ = staff("advisor")
    claim = make_claim(shop)
    with in_tenant(app, shop.id) as session:
        from bayline.events import commit

        token = tokens.active_token(session.get(Claim, claim.id))
        verify.record(token, False, "203.0.113.9")
        verify.record(token, True, "203.0.113.10")
        commit(session)
    page = client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Verification attempts" in page
    assert "details did not match" in page and "from 203.0.113.9" in page
    assert "verified" in page and "203.0.113.10" in page
    other = make_claim(shop)
    assert "No verification attempts yet." in client.get(f"/console/claims/{other.id}").get_data(as_text=True)
