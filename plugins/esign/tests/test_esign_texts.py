"""Texts through the core outbox (the SMS plugin, talking to its local Telnyx stand-in over
HTTP): sending and re-sending the signing link, one-time codes; and declining with a reason."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from bayline_sms.testing.telnyx_standin import TelnyxStandIn

from bayline import Feature, hookimpl

SHOP_NUMBER = "+16175550199"
OWNER_MOBILE = "+16175550100"  # make_claim's customer mobile
SPOUSE_MOBILE = "+16175550142"
SIGNERS = [{"name": "Dana Reyes"}, {"name": "Sam Reyes", "mobile": SPOUSE_MOBILE}]
EVENTS: list[Any] = []


class _Probe:
    @hookimpl
    def register_features(self) -> list[Feature]:
        return [Feature("esigntextprobe", "probe")]

    @hookimpl
    def on_event(self, event: Any) -> None:
        EVENTS.append(event)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("esigntextprobe", _Probe())]


@pytest.fixture
def app_config(texting_config: dict[str, Any]) -> dict[str, Any]:
    return texting_config


def _post(h: Any, client: Any, path: str, **form: Any) -> Any:
    token = h.csrf_from(client)
    return client.post(path, data={"csrf_token": token, **form}, headers=h.JSON)


def _texts(api: TelnyxStandIn, to: str) -> list[str]:
    return [r["json"]["text"] for r in api.message_posts() if r["json"]["to"] == to]


def test_send_and_resend_link_by_text(h, app, texting_package, telnyx_api, make_user, client_for, phone) -> None:
    from bayline.portal import tokens
    from bayline.portal.models import PortalToken
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = texting_package(signers=SIGNERS)
    url = f"/plugins/esign/packages/{pkg['id']}/send"
    resp = staff.post(url, json={"idempotency_key": "first"}, headers=h.JSON)
    assert resp.status_code == 201, resp.get_json()
    # "sending": the outbox handed both texts to Telnyx (the delivery webhooks move them on)
    assert [s["status"] for s in resp.get_json()["sends"]] == ["sending", "sending"]
    assert len(telnyx_api.message_posts()) == 2
    owner_text, = _texts(telnyx_api, OWNER_MOBILE)
    spouse_text, = _texts(telnyx_api, SPOUSE_MOBILE)
    assert "Dana Reyes, please review and sign" in owner_text and "Sam Reyes" in spouse_text
    link = re.search(r"https?://\S+/c/(\S+)$", owner_text)
    spouse_link = re.search(r"https?://\S+/c/(\S+)$", spouse_text)
    assert link and spouse_link
    raw = link.group(1)
    # Each signer's text carries a working link (issued when the text left; the stored outbox body
    # keeps it masked). The portal stores only the hashes; both links open the portal.
    with in_tenant(app, shop.id) as session:
        for each in (raw, spouse_link.group(1)):
            stored = session.query(PortalToken).filter_by(token_hash=tokens.hash_token(each)).one()
            assert stored.state == "active" and each not in str(stored.__dict__)
    for each in (raw, spouse_link.group(1)):
        assert app.test_client().get(f"/c/{each}").status_code in (200, 303)
    keys_sent = {r["headers"]["Idempotency-Key"] for r in telnyx_api.message_posts()}
    assert len(keys_sent) == 2

    # The same key again (double click, retried request): nothing new is sent, no new link.
    again = staff.post(url, json={"idempotency_key": "first"}, headers=h.JSON)
    assert again.status_code == 200 and len(telnyx_api.message_posts()) == 2

    # Re-send (a new key): the same e-sign link while it works; the claim's other links untouched.
    resend = staff.post(url, json={"idempotency_key": "second"}, headers=h.JSON)
    assert resend.status_code == 201 and len(telnyx_api.message_posts()) == 4
    new_raw = re.search(r"/c/(\S+)$", _texts(telnyx_api, OWNER_MOBILE)[-1]).group(1)
    assert new_raw == raw
    with app.app_context(), in_tenant(app, shop.id):
        assert tokens.lookup(raw)[0].purpose == "esign_sms"
        assert tokens.lookup(claim.portal_link.raw) is not None
    assert resend.get_json()["last_sent_at"]

    # The console's claim panel offers the re-send (with a fresh idempotency key per page view).
    html = client_for(make_user(shop), shop).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Re-send by text" in html and 'name="idempotency_key"' in html

    # Once the owner has signed everything, a re-send texts only the spouse.
    customer = phone(claim)
    owner = pkg["signers"][0]
    doc = pkg["documents"][0]
    customer.get(f"/c/s/esign/documents/{doc['id']}?signer={owner['id']}", headers=h.JSON)
    assert _post(h, customer, f"/c/s/esign/packages/{pkg['id']}/consent", agree="1",
                 signer=owner["id"]).status_code == 200
    assert h.sign(customer, doc["id"], signer=owner["id"], initials="DR").status_code == 200
    third = staff.post(url, json={"idempotency_key": "third"}, headers=h.JSON)
    assert third.status_code == 201 and [s["to"] for s in third.get_json()["sends"]] == ["mobile ending 0142"]
    assert len(telnyx_api.message_posts()) == 5 and len(_texts(telnyx_api, SPOUSE_MOBILE)) == 3


def test_send_needs_texting_and_isolation(h, app, texting_package, telnyx_api, make_shop, make_claim,
                                          make_user, client_for, api_client) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    shop, _claim, staff, pkg = texting_package()
    url = f"/plugins/esign/packages/{pkg['id']}/send"
    # Staff of another shop: 404 (API key and logged-in browser with its CSRF token), nothing sent.
    shop_b = make_shop(plan="starter")
    resp = api_client(shop_b).post(url, json={"idempotency_key": "x"}, headers=h.JSON)
    assert resp.status_code == 404
    browser = client_for(make_user(shop_b, role="owner"), shop_b)
    token = h.csrf_from(browser, f"/console/claims/{make_claim(shop_b).id}")
    resp = browser.post(url, data={"csrf_token": token, "idempotency_key": "x"}, headers=h.JSON)
    assert resp.status_code == 404
    assert telnyx_api.message_posts() == []
    # A read-only key may not send.
    resp = api_client(shop, scopes=("read",)).post(url, json={"idempotency_key": "x"}, headers=h.JSON)
    assert resp.status_code == 403
    # No key at all: refused.
    assert staff.post(url, json={}, headers=h.JSON).status_code == 422

    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "sms", False)
        commit(session)
    resp = staff.post(url, json={"idempotency_key": "y"}, headers=h.JSON)
    assert resp.status_code == 409 and resp.get_json()["code"] == "sms_unavailable"
    assert telnyx_api.message_posts() == []


def test_decline_with_reason_notifies_staff(h, app, shop_with_package, phone, enable_plugin, make_user,
                                            client_for) -> None:
    EVENTS.clear()
    shop, claim, staff, pkg = shop_with_package(signers=SIGNERS)
    enable_plugin(shop, "esigntextprobe")
    customer = phone(claim)
    doc = pkg["documents"][0]
    page = customer.get(f"/c/s/esign/documents/{doc['id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Decline to sign" in page
    path = f"/c/s/esign/packages/{pkg['id']}/decline"
    resp = _post(h, customer, path, reason="  ", signer=pkg["signers"][1]["id"])
    assert resp.status_code == 422 and resp.get_json()["code"] == "reason_required"
    resp = _post(h, customer, path, reason="The estimate is higher than agreed.", signer=pkg["signers"][1]["id"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "declined" and body["declined_by"] == "Sam Reyes"
    assert body["decline_reason"] == "The estimate is higher than agreed."
    declined = [e for e in EVENTS if e.type == "esign.declined"]
    assert len(declined) == 1 and declined[0].tenant_id == shop.id
    assert declined[0].payload["reason"] == "The estimate is higher than agreed."
    assert declined[0].payload["claim_id"] == claim.id

    html = client_for(make_user(shop), shop).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert '<span class="esign-state">declined</span>' in html
    assert "Declined by Sam Reyes: The estimate is higher than agreed." in html
    # Nothing more happens on a declined request.
    h.consent(customer, pkg["id"], doc["id"])
    resp = h.sign(customer, doc["id"], signer=pkg["signers"][0]["id"], initials="DR")
    assert resp.status_code == 409 and resp.get_json()["code"] == "package_declined"
    assert _post(h, customer, path, reason="again").status_code == 409
    assert staff.post(f"/plugins/esign/packages/{pkg['id']}/cancel", json={}, headers=h.JSON).status_code == 409


def _require_otp(staff: Any) -> None:
    resp = staff.patch("/api/v1/shop/settings", json={"esign.require_otp": True})
    assert resp.status_code == 200, resp.get_json()


def _code(api: TelnyxStandIn, to: str = OWNER_MOBILE) -> str:
    text = _texts(api, to)[-1]
    m = re.search(r"your signing code is (\d{6})\.", text)
    assert m, text
    return m.group(1)


def test_one_time_code_then_sign(h, app, texting_package, phone, telnyx_api) -> None:
    from bayline_esign.keys import verify
    from bayline_esign.models import EsignOtp
    from sqlalchemy import select

    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = texting_package()
    _require_otp(staff)
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    html = customer.get(f"/c/s/esign/documents/{doc['id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Text me a code" in html and "mobile ending 0100" in html
    resp = h.sign(customer, doc["id"], initials="DR")
    assert resp.status_code == 403 and resp.get_json()["code"] == "otp_required"
    base = f"/c/s/esign/packages/{pkg['id']}/otp"
    assert _post(h, customer, f"{base}/verify", code="123456").get_json()["code"] == "otp_required"

    resp = _post(h, customer, base)
    assert resp.status_code == 200 and resp.get_json()["to"] == "mobile ending 0100"
    assert len(telnyx_api.message_posts()) == 1
    code = _code(telnyx_api)
    with in_tenant(app, shop.id) as session:
        row = session.scalars(select(EsignOtp)).one()
        assert row.code_hash != code and len(row.code_hash) == 64 and code not in str(vars(row))
        assert (row.expires_at - row.created_at) == timedelta(minutes=10)
        # the outbox row staff can list holds the placeholder, never the code (sealed until it leaves)
        from bayline.plugin_api import OutboxItem

        texts = session.scalars(select(OutboxItem)).all()
        assert texts and all(code not in t.body and code not in str(t.options) for t in texts)
        assert any("{code}" in t.body for t in texts)

    wrong = "000000" if code != "000000" else "111111"
    resp = _post(h, customer, f"{base}/verify", code=wrong)
    assert resp.status_code == 422 and resp.get_json()["code"] == "otp_invalid" and "4 tries" in resp.get_json()[
        "message"]
    resp = _post(h, customer, f"{base}/verify", code=code)
    assert resp.status_code == 200 and resp.get_json() == {"verified": True}
    assert _post(h, customer, f"{base}/verify", code=code).get_json()["code"] == "otp_used"

    resp = h.sign(customer, doc["id"], initials="DR")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["signers"][0]["otp_verified"] is True
    data = staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data
    assert b"one-time code texted to the mobile ending 0100" in data
    with app.app_context():
        assert verify(data).ok


def test_one_time_code_expiry_lockout_and_limits(h, app, texting_package, phone, telnyx_api) -> None:
    from bayline_esign.models import EsignOtp
    from sqlalchemy import select

    from bayline.db import utcnow
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = texting_package()
    _require_otp(staff)
    customer = phone(claim)
    base = f"/c/s/esign/packages/{pkg['id']}/otp"

    # Expired.
    assert _post(h, customer, base).status_code == 200
    code = _code(telnyx_api)
    with in_tenant(app, shop.id) as session:
        row = session.scalars(select(EsignOtp)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        commit(session)
    resp = _post(h, customer, f"{base}/verify", code=code)
    assert resp.status_code == 422 and resp.get_json()["code"] == "otp_expired"

    # Lockout after five wrong codes, even for the right one afterwards.
    assert _post(h, customer, base).status_code == 200
    code = _code(telnyx_api)
    wrong = "000000" if code != "000000" else "111111"
    codes = [_post(h, customer, f"{base}/verify", code=wrong).get_json()["code"] for _ in range(5)]
    assert codes == ["otp_invalid"] * 4 + ["otp_locked"]
    resp = _post(h, customer, f"{base}/verify", code=code)
    assert resp.status_code == 429 and resp.get_json()["code"] == "otp_locked"
    with in_tenant(app, shop.id) as session:
        assert session.scalars(select(EsignOtp).order_by(EsignOtp.id.desc())).first().attempts == 5
    doc = pkg["documents"][0]
    h.consent(customer, pkg["id"], doc["id"])
    assert h.sign(customer, doc["id"], initials="DR").get_json()["code"] == "otp_required"

    # A new code works; at most five codes an hour.
    assert _post(h, customer, base).status_code == 200
    assert _post(h, customer, f"{base}/verify", code=_code(telnyx_api)).status_code == 200
    for _ in range(2):
        assert _post(h, customer, base).status_code == 200
    resp = _post(h, customer, base)
    assert resp.status_code == 429 and resp.get_json()["code"] == "otp_rate_limited"
    assert len(telnyx_api.message_posts()) == 5


def test_one_time_code_needs_texting(h, app, shop_with_package, phone, telnyx_api) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = shop_with_package()
    _require_otp(staff)
    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "sms", False)
        commit(session)
    customer = phone(claim)
    resp = _post(h, customer, f"/c/s/esign/packages/{pkg['id']}/otp")
    assert resp.status_code == 409 and resp.get_json()["code"] == "otp_unavailable"
    assert telnyx_api.message_posts() == []


def test_verify_page_still_rejects_tampering_of_two_signer_documents(h, app, texting_package, phone,
                                                                     telnyx_api) -> None:
    _shop, claim, staff, pkg = texting_package(signers=SIGNERS)
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.prove(customer, telnyx_api, pkg["id"], pkg["signers"][1]["id"], SPOUSE_MOBILE)
    for signer, initials in zip(pkg["signers"], ("DR", "SR"), strict=True):
        customer.get(f"/c/s/esign/documents/{doc['id']}?signer={signer['id']}", headers=h.JSON)
        assert _post(h, customer, f"/c/s/esign/packages/{pkg['id']}/consent", agree="1",
                     signer=signer["id"]).status_code == 200
        assert h.sign(customer, doc["id"], signer=signer["id"], initials=initials).status_code == 200
    data = staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data
    pos = data.index(b"Sam Reyes")
    tampered = data[:pos] + b"Tom" + data[pos + 3:]
    anon = app.test_client()
    token = h.csrf_from(anon)
    result = anon.post("/plugins/esign/verify", data={"csrf_token": token, "file": (io.BytesIO(tampered), "x.pdf")},
                       headers=h.JSON, content_type="multipart/form-data").get_json()
    assert not result["ok"] and not result["intact"]


def test_claim_panel_shows_each_text_of_the_link_as_it_stands(h, app, texting_package, telnyx_api, make_user,
                                                              client_for) -> None:
    """A text of the link held in the outbox (Telnyx busy) reads "waiting to send: <reason>" on the
    claim's e-sign panel; one the provider refuses reads "failed: <reason>"; one the outbox refuses
    (the recipient opted out) "not sent: <reason>"."""
    shop, claim, staff, pkg = texting_package()
    console = client_for(make_user(shop), shop)

    def _esign_sends(client: Any, claim: Any) -> str:
        page = client.get(f"/console/claims/{claim.id}", headers={"Accept": "text/html"}).get_data(as_text=True)
        return page.split('class="esign-sends"', 1)[1].split("</ul>", 1)[0]  # the e-sign panel's list only
    url = f"/plugins/esign/packages/{pkg['id']}/send"

    telnyx_api.rate_limit_next = 1  # Telnyx answers 429: the outbox holds the text and retries later
    resp = staff.post(url, json={"idempotency_key": "busy"}, headers=h.JSON)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["sends"][0]["status"] == "held"
    html = _esign_sends(console, claim)
    assert 'data-state="held"' in html and "waiting to send: provider busy, retrying at" in html
    state = staff.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).get_json()["sends"]
    assert state[0]["state"] == "held" and state[0]["text"].startswith("waiting to send: provider busy")

    telnyx_api.blocked.add(OWNER_MOBILE)  # the carrier refuses the recipient: the send fails for good
    resp = staff.post(url, json={"idempotency_key": "blocked"}, headers=h.JSON)
    assert resp.status_code == 201, resp.get_json()
    html = _esign_sends(console, claim)
    assert 'data-state="failed"' in html and "failed: " in html and "waiting to send" not in html

    # the carrier's refusal recorded the opt-out: the next send is not even tried, and says why
    resp = staff.post(url, json={"idempotency_key": "after-stop"}, headers=h.JSON)
    assert resp.status_code == 201, resp.get_json()
    html = _esign_sends(console, claim)
    assert 'data-state="refused"' in html and "not sent: " in html and "opted out" in html
