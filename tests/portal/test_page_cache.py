"""The portal page served from memory (web/portal_cache.py): served without a query while nothing
changed, rendered again after any change, never to the wrong session, with the same headers, its
own CSRF token per session, and the page's rate limit on both paths."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from bayline.claims import service
from bayline.claims.models import Claim
from bayline.db import get_db, utcnow
from bayline.events import commit
from bayline.portal import tokens
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import READY_SECONDS
from bayline.web.portal_cache import Offer, PortalPageCache, get_cache

from .conftest import csrf_from

HEADERS = ("Content-Security-Policy", "Referrer-Policy", "Cache-Control", "X-Robots-Tag", "X-Content-Type-Options",
           "X-Frame-Options", "Vary")


@contextmanager
def counting_queries(app):
    statements: list[str] = []
    engine = get_db(app).engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _view(client, **kw):
    page = client.get("/c/s/", **kw)
    assert page.status_code == 200, page.status_code
    return page


def _stages(app, shop):
    with in_tenant(app, shop.id):
        from bayline.claims.stages import active_stages

        return [(s.id, s.customer_label or s.name) for s in active_stages()]


def _move(app, claim, stage_id):
    with in_tenant(app, claim.tenant_id) as session:
        service.change_stage(session.get(Claim, claim.id), service.get_stage(stage_id))
        commit(session)


def test_second_view_needs_no_query_and_says_the_same(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    first = _view(client)
    with counting_queries(app) as statements:
        second = _view(client)
    assert statements == []
    assert second.get_data() == first.get_data()
    for name in HEADERS:
        assert second.headers.get(name) == first.headers.get(name), name
    assert "Set-Cookie" not in second.headers


def test_a_stage_change_is_on_the_next_view(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = portal_client(claim)
    stages = _stages(app, shop)
    assert 'aria-current="step"' in _view(client).get_data(as_text=True)
    _view(client)
    _move(app, claim, stages[2][0])
    html = _view(client).get_data(as_text=True)
    current = html.split('aria-current="step"', 1)[1].split("</li>", 1)[0]
    assert stages[2][1] in current


def test_shop_setting_and_shop_details_are_on_the_next_view(app, make_shop, make_claim, portal_client,
                                                            set_setting):
    shop = make_shop()
    claim = make_claim(shop, insurer="Acme Mutual")
    client = portal_client(claim)
    assert "Acme Mutual" in _view(client).get_data(as_text=True)
    set_setting(shop, "portal.show_insurer", False)
    assert "Acme Mutual" not in _view(client).get_data(as_text=True)
    with in_tenant(app) as session:
        from bayline.tenants.models import Shop

        session.get(Shop, shop.id).name = "Harbor Collision North"
        commit(session)
    assert "Harbor Collision North" in _view(client).get_data(as_text=True)


def test_revoked_link_ends_the_session_instead_of_the_stored_page(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    _view(client)
    _view(client)
    with in_tenant(app, claim.tenant_id) as session:
        tokens.revoke(session.get(Claim, claim.id))
        commit(session)
    gone = client.get("/c/s/")
    assert gone.status_code == 404 and claim.number not in gone.get_data(as_text=True)


def test_sessions_of_another_claim_never_get_this_page(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    mine, theirs = make_claim(shop), make_claim(shop)
    _view(portal_client(mine))
    _view(portal_client(mine))
    other = _view(portal_client(theirs)).get_data(as_text=True)
    assert theirs.number in other and mine.number not in other


def test_forged_cookie_is_not_served(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    _view(client)
    _view(client)
    value = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    forged = app.test_client()
    forged.set_cookie(app.config["SESSION_COOKIE_NAME"], value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    answer = forged.get("/c/s/")
    assert answer.status_code == 404 and claim.number not in answer.get_data(as_text=True)


def test_each_session_gets_its_own_form_token_and_it_works(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    alice, bob = portal_client(claim), portal_client(claim)
    _view(alice)
    _view(bob)
    token_a = csrf_from(_view(alice).get_data(as_text=True))
    token_b = csrf_from(_view(bob).get_data(as_text=True))
    assert token_a != token_b
    sent = bob.post("/c/s/messages", data={"csrf_token": token_b, "body": "Is the bumper painted yet?"})
    assert sent.status_code == 303
    refused = bob.post("/c/s/messages", data={"csrf_token": token_a, "body": "with Alice's token"})
    assert refused.status_code == 400


def test_own_message_shows_at_once_then_views_are_stored_again(app, make_shop, make_claim, portal_client,
                                                               monkeypatch):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    token = csrf_from(_view(client).get_data(as_text=True))
    client.post("/c/s/messages", data={"csrf_token": token, "body": "Can I pick it up Friday?"})
    with counting_queries(app) as statements:
        assert "Can I pick it up Friday?" in _view(client).get_data(as_text=True)
    assert statements, "a view right after the customer's own message is rendered"
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 10)
    _view(client)
    with counting_queries(app) as statements:
        _view(client)
    assert statements == []


def test_no_cache_request_is_rendered(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    _view(client)
    with counting_queries(app) as statements:
        _view(client, headers={"Cache-Control": "no-cache"})
    assert statements


def test_query_arguments_are_rendered_not_stored(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    flagged = _view(client, query_string={"error": "message"}).get_data(as_text=True)
    assert "message" in flagged.lower()
    plain = _view(client).get_data(as_text=True)
    assert plain != flagged


def test_stored_page_stops_at_link_expiry_and_max_age():
    cache = PortalPageCache(generations=None, max_age=30)  # type: ignore[arg-type]
    gens = ("p", "s", "c")
    past = utcnow() - timedelta(seconds=1)
    cache.keep(Offer((1, 2, 3), gens, past, "secret", "tok", 4), b"<p>tok</p>", [])
    assert cache.find((1, 2, 3), gens) is None
    cache.keep(Offer((1, 2, 3), gens, None, "secret", "tok", 4), b"<p>tok</p>", [("Set-Cookie", "x"), ("X-A", "1")])
    page = cache.find((1, 2, 3), gens)
    assert page is not None and b"tok" not in page.body and page.headers == [("X-A", "1")]
    assert cache.find((1, 2, 3), ("p", "s", "other")) is None
    assert cache.session_open(4, gens) and not cache.session_open(4, ("p", "s", "other"))
    assert not cache.session_open(5, gens)  # a session the app never found open
    cache.max_age = 0
    time.sleep(0.01)
    assert cache.find((1, 2, 3), gens) is None


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True}


def test_page_rate_limit_counts_stored_and_rendered_views(app, make_shop, make_claim, portal_client):
    claim = make_claim(make_shop())
    client = portal_client(claim)
    statuses = [client.get("/c/s/", headers={"Cache-Control": "no-cache"} if i % 2 else {}).status_code
                for i in range(121)]
    assert statuses[:120] == [200] * 120
    limited = client.get("/c/s/")
    assert statuses[120] == 429 and limited.status_code == 429
    assert client.head("/c/s/").status_code == 429
    assert "Retry-After" in limited.headers and claim.number not in limited.get_data(as_text=True)
    assert limited.headers["Cache-Control"] == "no-store"


class TestAcrossProcesses:
    """With Redis, a change committed by another process reaches this process's stored page."""

    @pytest.fixture
    def app_config(self, redis_url):
        return {"redis_url": redis_url}

    def test_change_in_another_process_is_on_the_next_view(self, app, make_shop, make_claim, portal_client,
                                                           database_url, redis_url, tmp_path):
        shop = make_shop()
        claim = make_claim(shop)
        client = portal_client(claim)
        stages = _stages(app, shop)
        _view(client)
        ends = time.monotonic() + 10
        while time.monotonic() < ends:  # the listener confirms its subscription in the background
            _view(client)
            with counting_queries(app) as statements:
                _view(client)
            if not statements:
                break
        assert not statements, "the page was never served from memory"
        assert len(get_cache(app)) == 1
        code = (
            "import sys\n"
            "from bayline import create_app\n"
            "from bayline.claims import service\n"
            "from bayline.claims.models import Claim\n"
            "from bayline.events import commit\n"
            "from bayline.testing.plugin import in_tenant\n"
            "app = create_app({'database_url': sys.argv[1], 'redis_url': sys.argv[2], 'env': 'test',\n"
            "                  'instance_dir': sys.argv[5], 'public_url': 'http://localhost'})\n"
            "with in_tenant(app, int(sys.argv[3])) as session:\n"
            "    claim = session.get(Claim, int(sys.argv[4]))\n"
            "    service.change_stage(claim, service.get_stage(int(sys.argv[6])))\n"
            "    commit(session)\n")
        subprocess.run([sys.executable, "-c", code, database_url, redis_url, str(shop.id), str(claim.id),
                        str(tmp_path / "other"), str(stages[3][0])], check=True, timeout=READY_SECONDS)
        ends = time.monotonic() + READY_SECONDS  # a ceiling: the loop ends as soon as the page shows it
        while time.monotonic() < ends:
            html = _view(client).get_data(as_text=True)
            if stages[3][1] in html.split('aria-current="step"', 1)[1].split("</li>", 1)[0]:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the stage changed by another process never showed")
