"""Consent recorded at intake: how the customer agreed to texts (transactional) and the separate,
unchecked-by-default marketing consent with its wording (API and console claim form)."""
from __future__ import annotations

from sqlalchemy import select

from bayline.messaging import consent
from bayline.messaging import service as outbox
from bayline.messaging.models import ConsentEvent, ConsentRecord
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

MOBILE = "+16175550142"


def _claim_json(number: str, **extra):
    return {"number": number, "customer_first_name": "Dana", "customer_last_name": "Reyes",
            "customer_mobile": "617 555 0142", "customer_email": "dana@example.com", **extra}


def test_api_records_how_texts_were_agreed_and_marketing_with_its_wording(app, make_shop, api_client):
    shop = make_shop(name="Harbor Collision")
    api = api_client(shop)
    resp = api.post("/api/v1/claims", json=_claim_json("RO-1", text_consent="written", marketing_consent=["sms"]))
    assert resp.status_code == 201, resp.get_json()
    assert "text_consent" not in resp.get_json()
    with in_tenant(app, shop.id) as session:
        rows = {(r.channel, r.purpose): r for r in session.scalars(select(ConsentRecord))}
        assert rows[("sms", "transactional")].status == "granted"
        assert rows[("sms", "transactional")].source == "intake_written"
        marketing = rows[("sms", "marketing")]
        assert marketing.status == "granted" and marketing.wording_version.startswith("sha256:")
        event = session.scalars(select(ConsentEvent).where(ConsentEvent.record_id == marketing.id)).one()
        assert "Harbor Collision" in event.wording and "not a condition" in event.wording
        assert ("email", "marketing") not in rows  # unticked: nothing recorded
        assert consent.check(MOBILE, "sms", "marketing").allowed
        assert not consent.check("dana@example.com", "email", "marketing").allowed


def test_marketing_is_never_implied(app, make_shop, api_client):
    shop = make_shop()
    assert api_client(shop).post("/api/v1/claims", json=_claim_json("RO-2")).status_code == 201
    with in_tenant(app, shop.id):
        decision = consent.check(MOBILE, "sms", "marketing")
        assert not decision.allowed and decision.code == "no_marketing_consent"
        assert consent.check(MOBILE, "sms", "transactional").allowed


def test_declined_texts_refuse_updates_before_any_provider_call(app, make_shop, make_claim, api_client, sms_outbox):
    shop = make_shop()
    api = api_client(shop)
    created = api.post("/api/v1/claims", json=_claim_json("RO-3", text_consent="declined")).get_json()
    with in_tenant(app, shop.id) as session:
        from bayline.claims.models import Claim

        claim = session.get(Claim, created["id"])
        try:
            outbox.enqueue(channel="sms", purpose="transactional", recipient=MOBILE, body="Update",
                           idempotency_key="u1", claim=claim, kind="automatic")
        except Exception as exc:
            assert getattr(exc, "code", "") == "consent_revoked"
        else:
            raise AssertionError("a text to a customer who declined texts was accepted")
    assert len(sms_outbox) == 0


def test_bad_consent_answers_are_field_errors_and_nothing_is_created(app, make_shop, api_client):
    shop = make_shop()
    api = api_client(shop)
    bad = [{"text_consent": "maybe"}, {"marketing_consent": ["fax"]},
           {"text_consent": "declined", "marketing_consent": ["sms"]}]
    for extra in bad:
        resp = api.post("/api/v1/claims", json=_claim_json("RO-4", **extra))
        assert resp.status_code == 422, extra
        assert resp.get_json()["code"] == "validation_error"
    assert api.get("/api/v1/claims").get_json() == [] or all(
        c["number"] != "RO-4" for c in api.get("/api/v1/claims").get_json())


def test_console_form_shows_the_wording_unchecked_and_keeps_answers_on_error(app, make_shop, make_user, client_for):
    shop = make_shop(name="Harbor Collision")
    staff = client_for(make_user(shop, "owner"))
    page = staff.get("/console/claims/new").get_data(as_text=True)
    assert "Agrees to marketing texts" in page and "Harbor Collision" in page
    assert 'value="sms" checked' not in page and 'value="email" checked' not in page
    form = {"csrf_token": csrf_token(staff, "/console/claims/new"), "number": "RO-5",
            "customer_first_name": "Dana", "customer_last_name": "Reyes", "customer_mobile": "617 555 0142",
            "text_consent": "declined", "marketing_consent": "sms"}
    refused = staff.post("/console/claims/new", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "marketing texts cannot be agreed" in text
    assert 'value="RO-5"' in text and 'value="sms" checked' in text
    assert '<option value="declined" selected' in text
    form.update(text_consent="verbal", csrf_token=csrf_token(staff, "/console/claims/new"))
    assert staff.post("/console/claims/new", data=form).status_code == 201
    with in_tenant(app, shop.id):
        assert consent.record(MOBILE, "sms", "marketing").status == "granted"
        assert consent.record(MOBILE, "sms", "transactional").source == "intake_verbal"
