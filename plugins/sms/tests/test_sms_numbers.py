"""Texting numbers: no squatting, quarantine on release, routing by number, consent per shop
(issue 17, M4 "SMS number squatting").

Before this change a shop admin could ``PUT /plugins/sms/number`` any number nobody held at that
moment — including one another shop had just given up — and from then on received that shop's
customers' texts. Numbers now come only from the platform's Telnyx account (asked through the SDK,
against the local stand-in), and a released number is quarantined before another shop may take it.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bayline_sms.models import SmsInbound, SmsNumber, SmsNumberRelease
from bayline_sms.testing.helpers import CUSTOMER, OTHER_SHOP_NUMBER, SHOP_NUMBER, SPARE_NUMBER, post_webhook
from sqlalchemy import inspect, select

from bayline.db import get_db, utcnow
from bayline.messaging.models import ConsentEvent, ConsentRecord, OutboxItem, Suppression
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

NOT_IN_ACCOUNT = "+16175550123"
JSON = {"Accept": "application/json"}  # a bodiless request's errors are pages unless JSON is preferred


def _shop(make_shop, api_client, name: str = "Bayside Body") -> Any:
    shop = make_shop(plan="starter", name=name, phone="+16175550122")
    api = api_client(shop)
    assert api.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                     "messaging.quiet_hours_end": ""}).status_code == 200
    return type("Shop", (), {"shop": shop, "api": api})


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    body = resp.get_json()
    assert resp.status_code == status and body["code"] == code, (resp.status_code, body)
    return body


def _end_quarantine(app, number: str) -> None:
    """Time passes: every quarantine of ``number`` is over."""
    with in_tenant(app) as session:
        for row in session.scalars(select(SmsNumberRelease).where(SmsNumberRelease.phone_number == number)):
            row.released_at -= timedelta(days=91)
            row.quarantined_until = utcnow() - timedelta(seconds=1)
        session.commit()


def _holder(app, number: str) -> int | None:
    with in_tenant(app) as session:
        row = session.scalars(select(SmsNumber).where(SmsNumber.phone_number == number)).first()
        return row.tenant_id if row else None


def _text_in(app, telnyx_api, to: str, body: str, sender: str = CUSTOMER) -> dict[str, Any]:
    payload = telnyx_api.inbound(sender, to, body)
    resp = post_webhook(app, payload, telnyx_api.sign(payload))
    assert resp.status_code == 200
    return resp.get_json()


def _inbound_bodies(app, shop_id: int) -> list[str]:
    with in_tenant(app, shop_id) as session:
        return [r.body for r in session.scalars(select(SmsInbound).order_by(SmsInbound.id))]


def test_a_number_outside_the_platform_account_is_refused(app, make_shop, api_client, telnyx_api) -> None:
    """Squatting refused: fails on the old code, which saved any well-formed number (200)."""
    other = _shop(make_shop, api_client)
    resp = other.api.put("/plugins/sms/number", json={"phone_number": NOT_IN_ACCOUNT})
    body = _error(resp, 422, "sms_number_not_in_account")
    assert "phone_number" in body["errors"]["json"]
    asked = [r for r in telnyx_api.requests if r["path"] == "/v2/phone_numbers"]
    assert asked and asked[0]["args"]["filter[phone_number]"] == [NOT_IN_ACCOUNT.lstrip("+")]
    assert other.api.get("/plugins/sms/number").get_json()["number"] is None
    # a number of the account that is not active (e.g. still porting in) is refused too
    telnyx_api.own(NOT_IN_ACCOUNT, status="port-pending")
    _error(other.api.put("/plugins/sms/number", json={"phone_number": NOT_IN_ACCOUNT}), 422,
           "sms_number_not_in_account")
    assert _holder(app, NOT_IN_ACCOUNT) is None


def test_a_number_of_the_account_is_assigned_with_its_profile(app, make_shop, api_client, telnyx_api) -> None:
    telnyx_api.own(NOT_IN_ACCOUNT, messaging_profile_id="mp-platform")
    other = _shop(make_shop, api_client)
    resp = other.api.put("/plugins/sms/number", json={"phone_number": "(617) 555-0123"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"phone_number": NOT_IN_ACCOUNT, "messaging_profile_id": "mp-platform",
                               "source": "assigned"}


def test_another_shops_number_is_refused_before_asking_telnyx(app, sms_shop, make_shop, api_client,
                                                              telnyx_api) -> None:
    """Fails on the old code: the refusal's code was the generic ``conflict``."""
    other = _shop(make_shop, api_client)
    _error(other.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}), 409, "sms_number_taken")
    _error(other.api.post("/plugins/sms/numbers/order", json={"phone_number": SHOP_NUMBER}), 409,
           "sms_number_taken")
    assert telnyx_api.requests == [] and telnyx_api.orders == []
    assert _holder(app, SHOP_NUMBER) == sms_shop.shop.id


def test_released_number_is_quarantined_for_other_shops_only(app, sms_shop, make_shop, api_client,
                                                            telnyx_api) -> None:
    """Fails on the old code: there was no DELETE route, and a number given up (by assigning another)
    could be taken by the next shop at once."""
    released = sms_shop.api.delete("/plugins/sms/number")
    assert released.status_code == 200, released.get_json()
    info = released.get_json()["released"]
    assert info["phone_number"] == SHOP_NUMBER
    assert sms_shop.api.get("/plugins/sms/number").get_json()["number"] is None
    with in_tenant(app, sms_shop.shop.id) as session:
        row = session.scalars(select(SmsNumberRelease)).one()
        assert timedelta(days=89) < row.quarantined_until - row.released_at <= timedelta(days=90)
    # releasing again: nothing to release
    _error(sms_shop.api.delete("/plugins/sms/number", headers=JSON), 404, "sms_no_number")
    other = _shop(make_shop, api_client)
    body = _error(other.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}), 409,
                  "sms_number_quarantined")
    assert info["quarantined_until"][:10] in body["message"]
    _error(other.api.post("/plugins/sms/numbers/order", json={"phone_number": SHOP_NUMBER}), 409,
           "sms_number_quarantined")
    assert telnyx_api.orders == []
    # the shop that released it may take it back
    back = sms_shop.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER, "messaging_profile_id": "mp-1"})
    assert back.status_code == 200, back.get_json()
    assert _holder(app, SHOP_NUMBER) == sms_shop.shop.id


def test_replacing_a_number_quarantines_the_old_one(app, sms_shop, make_shop, api_client, telnyx_api) -> None:
    """Fails on the old code: PUT overwrote the row, and another shop took the old number at once."""
    assert sms_shop.api.put("/plugins/sms/number", json={"phone_number": SPARE_NUMBER}).status_code == 200
    other = _shop(make_shop, api_client)
    _error(other.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}), 409, "sms_number_quarantined")
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(SmsNumberRelease.phone_number)).all() == [SHOP_NUMBER]


def test_after_the_quarantine_another_shop_gets_the_number(app, sms_shop, make_shop, api_client,
                                                           telnyx_api) -> None:
    """Fails on the old code (no release route, no quarantine to end)."""
    assert sms_shop.api.delete("/plugins/sms/number").status_code == 200
    _end_quarantine(app, SHOP_NUMBER)
    other = _shop(make_shop, api_client)
    resp = other.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER})
    assert resp.status_code == 200, resp.get_json()
    assert _holder(app, SHOP_NUMBER) == other.shop.id
    # and now the first shop cannot take it back
    _error(sms_shop.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}), 409, "sms_number_taken")


def test_quarantine_length_is_platform_configuration(app, sms_shop, make_shop, api_client, telnyx_api) -> None:
    app.config["BAYLINE_PLUGIN_SMS_NUMBER_QUARANTINE_DAYS"] = 7
    info = sms_shop.api.delete("/plugins/sms/number").get_json()["released"]
    with in_tenant(app, sms_shop.shop.id) as session:
        row = session.scalars(select(SmsNumberRelease)).one()
        assert row.quarantined_until - row.released_at == timedelta(days=7)
    assert info["phone_number"] == SHOP_NUMBER
    app.config["BAYLINE_PLUGIN_SMS_NUMBER_QUARANTINE_DAYS"] = 0  # no quarantine at all
    assert sms_shop.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}).status_code == 200
    assert sms_shop.api.delete("/plugins/sms/number").status_code == 200
    other = _shop(make_shop, api_client)
    assert other.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}).status_code == 200


def test_inbound_texts_reach_the_shop_holding_the_number_only(app, sms_shop, make_shop, api_client, make_claim,
                                                              telnyx_api) -> None:
    """Fails on the old code: no release route (405), so the number never left shop A, and when a
    number did move the next holder got the texts at once."""
    other = _shop(make_shop, api_client)
    assert other.api.put("/plugins/sms/number", json={"phone_number": OTHER_SHOP_NUMBER}).status_code == 200
    _text_in(app, telnyx_api, SHOP_NUMBER, "to A")
    _text_in(app, telnyx_api, OTHER_SHOP_NUMBER, "to B")
    assert _inbound_bodies(app, sms_shop.shop.id) == ["to A"]
    assert _inbound_bodies(app, other.shop.id) == ["to B"]
    # A releases its number: texts to it reach nobody during the quarantine
    assert sms_shop.api.delete("/plugins/sms/number").status_code == 200
    assert _text_in(app, telnyx_api, SHOP_NUMBER, "after release") == {"status": "ignored",
                                                                       "reason": "unknown number"}
    assert _inbound_bodies(app, sms_shop.shop.id) == ["to A"]
    assert _inbound_bodies(app, other.shop.id) == ["to B"]
    # after it, a third shop takes it and gets the texts; A and B do not
    _end_quarantine(app, SHOP_NUMBER)
    third = _shop(make_shop, api_client, name="Third Collision")
    assert third.api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}).status_code == 200
    _text_in(app, telnyx_api, SHOP_NUMBER, "to C")
    assert _inbound_bodies(app, third.shop.id) == ["to C"]
    assert _inbound_bodies(app, sms_shop.shop.id) == ["to A"]
    assert _inbound_bodies(app, other.shop.id) == ["to B"]


def test_delivery_status_goes_to_the_shop_that_sent_the_text(app, sms_shop, make_shop, api_client, make_claim,
                                                             telnyx_api) -> None:
    """Fails on the old code: a status event was routed by the sending number, so after the number
    moved, shop A's delivery report went to the new holder and failed there (unknown message)."""
    claim = make_claim(sms_shop.shop)
    sent = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Ready", "idempotency_key": "d"})
    assert sent.status_code == 202, sent.get_json()
    telnyx_id = telnyx_api.messages[0]["id"]
    other = _shop(make_shop, api_client)
    with in_tenant(app) as session:  # the number moved to shop B (however: released, quarantine over, taken)
        session.delete(session.scalars(select(SmsNumber).where(SmsNumber.phone_number == SHOP_NUMBER)).one())
        session.flush()
        session.add(SmsNumber(tenant_id=other.shop.id, phone_number=SHOP_NUMBER, source="assigned"))
        session.commit()
    body = telnyx_api.delivery(telnyx_id, "delivered")
    assert post_webhook(app, body, telnyx_api.sign(body)).get_json() == {"status": "accepted"}
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(OutboxItem)).one().state == "delivered"
    assert other.api.get("/plugins/sms/events").get_json()["failed"] == []


def test_stop_at_one_shop_never_suppresses_another(app, sms_shop, make_shop, api_client, make_claim,
                                                   telnyx_api) -> None:
    """STOP at shop A: A's ledger revokes and suppresses; shop B's ledger is untouched and B's text to
    the same customer goes out. The core ledger's unique keys lead with the shop (tenant_id); this
    passes on the old code too (the global key was the SMS plugin's old ``sms_consent`` table, keyed
    by (shop number, customer), which revision d41e7a0c5b92 replaced) and guards against a regression."""
    other = _shop(make_shop, api_client)
    assert other.api.put("/plugins/sms/number", json={"phone_number": OTHER_SHOP_NUMBER}).status_code == 200
    claim_a = make_claim(sms_shop.shop, customer_mobile=CUSTOMER)
    claim_b = make_claim(other.shop, customer_mobile=CUSTOMER)
    _text_in(app, telnyx_api, SHOP_NUMBER, "STOP")
    _error(sms_shop.api.post(f"/plugins/sms/claims/{claim_a.id}/messages", json={"body": "x"}), 409, "sms_opted_out")
    resp = other.api.post(f"/plugins/sms/claims/{claim_b.id}/messages", json={"body": "Your car is ready."})
    assert resp.status_code == 202, resp.get_json()
    assert [m["from"]["phone_number"] for m in telnyx_api.sent_to(CUSTOMER)] == [OTHER_SHOP_NUMBER]
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Suppression.contact)).all() == [CUSTOMER]
        assert {r.status for r in session.scalars(select(ConsentRecord))} == {"revoked"}
        assert session.scalars(select(ConsentEvent)).all()
    with in_tenant(app, other.shop.id) as session:
        assert session.scalars(select(Suppression)).all() == []
        assert [r.status for r in session.scalars(select(ConsentRecord))] in ([], ["granted"])
    # START at B changes nothing at A
    _text_in(app, telnyx_api, OTHER_SHOP_NUMBER, "START")
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Suppression.contact)).all() == [CUSTOMER]
    insp = inspect(get_db(app).engine)
    for table, key in (("consent_records", ["tenant_id", "contact", "channel", "purpose"]),
                       ("suppressions", ["tenant_id", "contact", "channel"])):
        assert [u["column_names"] for u in insp.get_unique_constraints(table)] == [key]


def test_shop_admins_only_manage_the_number(app, sms_shop, make_user, client_for, telnyx_api) -> None:
    tech = client_for(make_user(sms_shop.shop, "technician"))
    token = csrf_token(tech, "/plugins/sms/")
    assert tech.delete("/plugins/sms/number", headers={"X-CSRFToken": token}).status_code == 403
    assert tech.post("/plugins/sms/number/release", data={"csrf_token": token}).status_code == 403
    assert _holder(app, SHOP_NUMBER) == sms_shop.shop.id


def test_console_releases_and_refuses_squatting_with_a_message(app, sms_shop, make_shop, make_user, client_for,
                                                               telnyx_api) -> None:
    staff = client_for(sms_shop.owner)
    page = staff.get("/plugins/sms/").get_data(as_text=True)
    assert 'id="sms-release"' in page and "90 days" in page
    resp = staff.post("/plugins/sms/number/release", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    after = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Released" in after and "No texting number yet" in after
    other = make_shop(plan="starter")
    squatter = client_for(make_user(other, "owner"))
    page = squatter.get("/plugins/sms/").get_data(as_text=True)
    for number, words in ((SHOP_NUMBER, "quarantined until"), (NOT_IN_ACCOUNT, "not one of the platform")):
        resp = squatter.post("/plugins/sms/number", data={"csrf_token": csrf_token(page), "phone_number": number})
        shown = squatter.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Not assigned:" in shown and words in shown and "No texting number yet" in shown


def test_assigning_needs_telnyx(app, make_shop, api_client, telnyx_api) -> None:
    other = _shop(make_shop, api_client)
    app.config["BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL"] = "http://127.0.0.1:9/v2"  # nothing listens there
    body = _error(other.api.put("/plugins/sms/number", json={"phone_number": SPARE_NUMBER}), 502, "provider_error")
    assert "Could not" in body["message"]
    assert other.api.get("/plugins/sms/number").get_json()["number"] is None


@pytest.mark.parametrize("bad", [{"phone_number": SPARE_NUMBER, "messaging_profile_id": ["x"]},
                                 {"phone_number": SPARE_NUMBER, "messaging_profile_id": "m" * 65},
                                 {"phone_number": "not a number"}])
def test_bad_input_is_a_422(app, make_shop, api_client, telnyx_api, bad) -> None:
    other = _shop(make_shop, api_client)
    _error(other.api.put("/plugins/sms/number", json=bad), 422, "validation_error")


def test_platform_cli_maps_and_releases_numbers(app, sms_shop, make_shop, api_client, telnyx_api) -> None:
    """``flask sms assign-number`` maps any number (the operator's word is the proof), still never one
    another shop holds or quarantines unless told to; ``release-number`` quarantines it."""
    other = _shop(make_shop, api_client)
    runner = app.test_cli_runner()
    slug = other.shop.slug
    done = runner.invoke(args=["sms", "assign-number", "--shop", slug, NOT_IN_ACCOUNT])
    assert done.exit_code == 0, done.output
    assert _holder(app, NOT_IN_ACCOUNT) == other.shop.id
    refused = runner.invoke(args=["sms", "assign-number", "--shop", slug, SHOP_NUMBER])
    assert refused.exit_code != 0 and "sms_number_taken" in refused.output
    released = runner.invoke(args=["sms", "release-number", "--shop", sms_shop.shop.slug])
    assert released.exit_code == 0 and f"released {SHOP_NUMBER}" in released.output
    refused = runner.invoke(args=["sms", "assign-number", "--shop", slug, SHOP_NUMBER])
    assert refused.exit_code != 0 and "sms_number_quarantined" in refused.output
    forced = runner.invoke(args=["sms", "assign-number", "--shop", slug, "--ignore-quarantine", SHOP_NUMBER])
    assert forced.exit_code == 0, forced.output
    assert _holder(app, SHOP_NUMBER) == other.shop.id and _holder(app, NOT_IN_ACCOUNT) is None  # replaced
    nobody = runner.invoke(args=["sms", "release-number", "--shop", sms_shop.shop.slug])
    assert nobody.exit_code != 0 and "has no texting number" in nobody.output
    unknown = runner.invoke(args=["sms", "assign-number", "--shop", "no-such-shop", SPARE_NUMBER])
    assert unknown.exit_code != 0 and "no shop" in unknown.output
