"""Property-based tests of what customers type: portal tokens, verification details, Unicode text."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

import bayline.models  # noqa: F401  (every mapper, so a bare Claim can be built)
from bayline.claims.models import Claim
from bayline.portal.verify import check, normalise
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

FIXTURE_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def shop_context(app, make_shop):
    shop = make_shop()
    with in_tenant(app, shop.id):
        yield shop


@FIXTURE_OK
@given(name=st.text(st.characters(categories=("L", "N")), min_size=1, max_size=30))
def test_a_last_name_in_any_script_can_be_verified(shop_context, name):
    assert normalise(name), f"{name!r} normalises to nothing: its owner could never get in"
    claim = Claim(customer_last_name=name, number="RO-1042", tenant_id=shop_context.id)
    assert check(claim, f"  {name} ", "ro 1042", None)


@FIXTURE_OK
@given(last_name=st.text(max_size=40), number=st.text(max_size=20))
def test_verification_never_raises_and_rejects_other_details(shop_context, last_name, number):
    claim = Claim(customer_last_name="O'Neill", number="RO-1042", tenant_id=shop_context.id)
    expected = normalise(last_name) == "oneill" and normalise(number) == "ro1042"
    assert check(claim, last_name, number, None) is expected


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}


@FIXTURE_OK
@given(token=st.text(max_size=80))
def test_any_token_string_gets_the_friendly_not_found_page(app, make_shop, make_claim, token):
    client = app.test_client()
    r = client.get("/c/" + quote(token, safe=""))
    # NUL bytes are refused up front (400); everything else is an unknown link (404) or a slash redirect
    assert r.status_code in ((400,) if "\x00" in token else (404, 308)), (token, r.status_code)
    assert "Reyes" not in r.get_data(as_text=True) and r.status_code < 500


@FIXTURE_OK
@given(body=st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\x00" not in s))
def test_unicode_messages_round_trip_escaped(app, make_shop, make_claim, portal_client, body):
    claim = make_claim(make_shop(), customer_last_name="Nguyễn-Ó'Brien 李")
    client = portal_client(claim)
    token = csrf_token(client, "/c/s/")
    r = client.post("/c/s/messages", data={"csrf_token": token, "body": body})
    assert r.status_code in (200, 302, 303), r.status_code
    page = client.get("/c/s/").get_data(as_text=True)
    assert str(escape(body.strip())) in page
