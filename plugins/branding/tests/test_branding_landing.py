"""Public landing pages /p/<slug> and /g/<slug>: brand, contact, today's status in the location's zone,
map link, click-to-call, structured data; slugs change and old ones answer 301; Find my repair answers
the same bytes whatever matched, queues exactly one message on a match, and is rate-limited per client
address and per claim number."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from branding_helpers import BRAND

from bayline.testing.forms import csrf_token

HOURS = [{"days": "Mon–Fri", "open": "07:30", "close": "17:30"}, {"days": "Sat", "open": "09:00", "close": "12:00"},
         {"days": "Sun", "closed": True}]
ADDRESS = {"address_line1": "12 Harbor St", "city": "Quincy", "region": "MA", "postal_code": "02169",
           "timezone": "America/New_York", "hours": HOURS}


def test_today_status_is_read_in_the_locations_zone(app, shop_on):
    from bayline_branding.landing import today_status

    boston = shop_on("professional", **ADDRESS).shop
    # 2026-12-07 is a Monday; 13:00 UTC is 08:00 in Boston, 05:00 in Los Angeles
    monday = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert today_status(boston, monday) == {"open": True, "text": "Open now · until 17:30", "row": HOURS[0]}
    la = shop_on("professional", **{**ADDRESS, "timezone": "America/Los_Angeles"}).shop
    assert today_status(la, monday)["text"] == "Closed now · opens at 07:30"
    sunday = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert today_status(boston, sunday) == {"open": False, "text": "Closed today"}


def test_shop_landing_is_indexable_with_structured_data(app, shop_on):
    pro = shop_on("professional", name="Harbor Collision", **ADDRESS)
    pro.api.put("/api/v1/plugins/branding/brand", json=BRAND)
    r = app.test_client().get(f"/p/{pro.shop.slug}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "X-Robots-Tag" not in r.headers and "noindex" not in html
    assert "<title>Harbor Collision · Quincy · collision repair</title>" in html
    assert '<meta name="description" content="Welcome to Harbor Collision">' in html
    assert f'<meta property="og:url" content="http://localhost/p/{pro.shop.slug}">' in html
    assert 'href="tel:+16175550199"' in html and "google.com/maps/search" in html
    assert re.search(r'class="today (open|closed)"', html)
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "AutoBodyShop" and data["name"] == "Harbor Collision"
    assert data["address"]["addressLocality"] == "Quincy" and data["telephone"] == "+16175550199"
    assert data["openingHoursSpecification"][0]["dayOfWeek"][:2] == ["Monday", "Tuesday"]
    assert "script-src 'none'" in r.headers["Content-Security-Policy"]  # the JSON-LD block never runs
    assert "Find my repair" in html


def test_no_landing_without_the_plan_or_for_unknown_slugs(app, shop_on):
    starter = shop_on("starter")
    assert app.test_client().get(f"/p/{starter.shop.slug}").status_code == 404
    assert app.test_client().get("/p/no-such-shop").status_code == 404
    assert app.test_client().get("/g/no-such-group").status_code == 404


def test_changed_slugs_redirect_permanently(app, shop_on):
    pro = shop_on("professional")
    original = pro.shop.slug
    assert pro.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-collision"}).status_code == 200
    client = app.test_client()
    r = client.get(f"/p/{original}")
    assert r.status_code == 301 and r.headers["Location"] == "/p/harbor-collision"
    assert client.get("/p/harbor-collision").status_code == 200
    assert pro.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-quincy"}).status_code == 200
    for old in (original, "harbor-collision"):
        r = client.get(f"/p/{old}")
        assert r.status_code == 301 and r.headers["Location"] == "/p/harbor-quincy"
    # taking an old slug back is fine; nobody else may take it
    assert pro.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-collision"}).status_code == 200
    assert client.get("/p/harbor-quincy").headers["Location"] == "/p/harbor-collision"
    other = shop_on("professional")
    assert other.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-quincy"}).status_code == 409


def test_group_landing_lists_its_locations(app, shop_on, make_shop, make_user, client_for):
    first = shop_on("enterprise", name="Harbor Downtown", **ADDRESS)
    second = make_shop(plan="enterprise", name="Harbor Quincy", group_id=first.shop.group_id, phone="+16175550123")
    starter_sibling = make_shop(plan="starter", name="Harbor Legacy", group_id=first.shop.group_id)
    from bayline.tenants.models import Group
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        group_slug = session.get(Group, first.shop.group_id).slug
    html = app.test_client().get(f"/g/{group_slug}").get_data(as_text=True)
    assert "Harbor Downtown" in html and "Harbor Quincy" in html and "Harbor Legacy" not in html
    assert f'href="/p/{second.slug}"' in html and 'href="tel:+16175550123"' in html
    assert starter_sibling.slug not in html


# -- Find my repair ----------------------------------------------------------------------------------

def _find(client, slug, **form):
    token = csrf_token(client, f"/p/{slug}")
    response = client.post(f"/p/{slug}/find", data={"csrf_token": token, **form})
    response.get_data()
    response.close()  # as a WSGI server does once the answer is sent: the deferred lookup runs
    return response


# per request, never about the claim: the request id and the client's rate-limit counters
PER_REQUEST = ("Date", "Set-Cookie", "X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


def _comparable(response):
    headers = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    return response.status_code, headers, response.data


def test_match_and_miss_answer_the_same_bytes_and_only_a_match_sends(app, shop_on, make_claim, sms_outbox):
    pro = shop_on("professional", name="Harbor Collision")
    claim = make_claim(pro.shop, number="RO-24204", customer_last_name="Reyes", customer_mobile="+16175550100")
    client = app.test_client()
    hit = _find(client, pro.shop.slug, claim_number="24204", last_name="reyes")
    assert hit.status_code == 200
    assert len(sms_outbox) == 1 and sms_outbox[0].to == "+16175550100"
    assert "RO-24204" in sms_outbox[0].body and "http://localhost/c/" in sms_outbox[0].body
    misses = [_find(client, pro.shop.slug, claim_number="24204", last_name="Smith"),
              _find(client, pro.shop.slug, claim_number="99999", last_name="Reyes"),
              _find(client, pro.shop.slug, claim_number="24204", phone="+1 617 555 0111")]
    assert len(sms_outbox) == 1  # nothing more was sent
    for miss in misses:
        assert _comparable(miss) == _comparable(hit)
    page = hit.get_data(as_text=True)
    assert "RO-24204" not in page and "Reyes" not in page and "0100" not in page
    by_phone = _find(client, pro.shop.slug, claim_number="RO-24204", phone="(617) 555-0100")
    assert _comparable(by_phone) == _comparable(hit) and len(sms_outbox) == 2
    assert claim.id  # the claim itself is untouched


def test_match_and_miss_do_the_same_work_in_the_request(app, shop_on, make_claim, sms_outbox):
    """"Similar timing": the request only checks the form and answers; the lookup and the send run
    after the response went out (a worker, or eager Celery on close). Same statements either way."""
    from sqlalchemy import event

    from bayline.db import get_db

    pro = shop_on("professional")
    make_claim(pro.shop, number="RO-31337", customer_last_name="Reyes")
    client = app.test_client()
    token = csrf_token(client, f"/p/{pro.shop.slug}")
    engine = get_db(app).engine
    seen: list[list[str]] = []

    def run(form):
        statements: list[str] = []

        def listener(_c, _cur, statement, *_a):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.post(f"/p/{pro.shop.slug}/find", data={"csrf_token": token, **form}, buffered=False)
            seen.append(list(statements))  # what the request did before its answer was complete
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        response.close()  # now the deferred lookup runs
        return response

    run({"claim_number": "31337", "last_name": "Reyes"})
    run({"claim_number": "31337", "last_name": "Nobody"})
    assert seen[0] == seen[1]
    assert not any("outbox_items" in s or "FROM claims" in s for s in seen[0])
    assert len(sms_outbox) == 1


def test_missing_fields_are_an_inline_error_keeping_what_was_typed(app, shop_on, sms_outbox):
    pro = shop_on("professional")
    r = _find(app.test_client(), pro.shop.slug, claim_number="RO-1")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Enter the claim number and your last name or mobile number." in html and 'value="RO-1"' in html
    assert len(sms_outbox) == 0


def test_find_is_rate_limited_per_claim_and_per_address(app, shop_on, make_claim, sms_outbox):
    pro = shop_on("professional")
    make_claim(pro.shop, number="RO-77777", customer_last_name="Reyes")
    answers = []
    for n in range(6):  # from six different addresses: the claim's own limit
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        answers.append(_find(client, pro.shop.slug, claim_number="RO-77777", last_name="Reyes").status_code)
    assert answers == [200] * 5 + [429]
    assert len(sms_outbox) == 5
    one = app.test_client()
    one.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    codes = [_find(one, pro.shop.slug, claim_number=f"RO-{n:05d}", last_name="Nobody").status_code for n in range(21)]
    assert codes == [200] * 20 + [429]


@pytest.mark.parametrize("plan", ["starter"])
def test_find_is_404_without_the_plan(app, shop_on, plan):
    shop = shop_on(plan)
    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post(f"/p/{shop.shop.slug}/find", data={"csrf_token": token, "claim_number": "1",
                                                          "last_name": "x"}).status_code == 404
