"""The points ledger (issue 26, acceptance 2 and bad input): earning on customer-paid amounts only,
replays add nothing, refunds claw back, redemption refused beyond the balance, and on PostgreSQL
two concurrent redemptions of the last points → exactly one succeeds."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

from bayline_loyalty import service

API = "/api/v1/plugins/loyalty"


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "loyalty") == []


def test_customer_paid_amounts_earn_and_insurer_money_never(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5001")
    pay(claim, "3000.00", payer="insurer", method="insurer_check")
    assert member_of(claim) is None  # insurer-paid: nothing earned, nobody enrolled
    pay(claim, "500.00", payer="deductible")
    pay(claim, "87.45", payer="customer")
    pay(claim, "40.00", payer="customer", method="points")  # paid with points: earns nothing
    m = member_of(claim)
    assert m.ledger == [("earn", 500), ("earn", 87)]
    assert m.balance == m.total == 587
    r = programme.api.get(f"{API}/claims/{claim.id}/points").get_json()
    assert r["earned"] == 587 and r["customer_paid"] == "587.45" and r["earn_from"] == "payments"


def test_a_replayed_earning_event_adds_nothing(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5002")
    paid = pay(claim, "250.00")
    payload = {"claim_id": claim.id, "payment_id": paid["id"], "payer": "customer", "method": "card",
               "amount": "250.00", "currency": "USD", "balance": "0", "provider": "manual"}
    from bayline.plugin_api import for_shop

    with app.test_request_context("/"), in_tenant(app, programme.shop.id):
        for _ in range(3):  # the same event delivered again (a retried webhook, a redelivered task)
            with for_shop(programme.shop.id) as shop:
                service.on_payment_event("payment.recorded", payload, shop)
                from bayline.plugin_api import commit

                commit()
    m = member_of(claim)
    assert m.ledger == [("earn", 250)] and m.balance == m.total == 250


def test_a_refund_claws_back_what_it_earned(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5003")
    pay(claim, "400.00")
    pay(claim, "150.00", kind="refund")
    m = member_of(claim)
    assert m.ledger == [("earn", 400), ("clawback", -150)] and m.balance == m.total == 250
    pay(claim, "3000.00", payer="insurer")
    pay(claim, "3000.00", payer="insurer", kind="refund")  # insurer refunds claw back nothing
    pay(claim, "250.00", kind="refund")
    m = member_of(claim)
    assert m.balance == m.total == 0 and m.ledger[-1] == ("clawback", -250)


def test_a_refund_after_spending_can_leave_a_debt_but_never_claws_more_than_earned(app, programme, make_claim, pay,
                                                                                  member_of):
    claim = make_claim(programme.shop, number="RO-5004")
    pay(claim, "100.00")
    member = member_of(claim)
    r = programme.api.post(f"{API}/members/{member.id}/redemptions", json={"points": 100, "reason": "Detail kit"})
    assert r.status_code == 201 and r.get_json()["balance"] == 0
    pay(claim, "100.00", kind="refund")
    m = member_of(claim)
    assert m.balance == m.total == -100
    assert [k for k, _ in m.ledger] == ["earn", "redeem", "clawback"]


def test_redemption_beyond_the_balance_is_refused_and_nothing_is_lost(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5005")
    pay(claim, "120.00")
    member = member_of(claim)
    for body, code, field in (({"points": 121, "reason": "Too much"}, "loyalty_insufficient_points", "points"),
                              ({"points": 0, "reason": "Zero"}, "validation_error", "points"),
                              ({"points": -5, "reason": "Negative"}, "validation_error", "points"),
                              ({"points": 10, "reason": "   "}, "validation_error", "reason")):
        r = programme.api.post(f"{API}/members/{member.id}/redemptions", json=body)
        assert r.status_code == 422 and r.get_json()["code"] == code, r.get_json()
        assert field in str(r.get_json().get("errors"))
    r = programme.api.post(f"{API}/members/{member.id}/adjustments", json={"points": -500, "reason": "Typo"})
    assert r.status_code == 422 and r.get_json()["code"] == "loyalty_insufficient_points"
    assert "120 points are available" in r.get_json()["message"]
    m = member_of(claim)
    assert m.balance == m.total == 120 and m.ledger == [("earn", 120)]
    r = programme.api.post(f"{API}/members/{member.id}/adjustments",
                           json={"points": 30, "reason": "Goodwill", "idempotency_key": "gw-1"})
    again = programme.api.post(f"{API}/members/{member.id}/adjustments",
                               json={"points": 30, "reason": "Goodwill", "idempotency_key": "gw-1"})
    assert r.status_code == again.status_code == 201 and member_of(claim).balance == 150


def test_the_console_form_keeps_what_was_typed(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5006")
    pay(claim, "50.00")
    member = member_of(claim)
    page = programme.staff.get(f"/plugins/loyalty/members/{member.id}")
    assert page.status_code == 200 and "RO-5006" in page.get_data(as_text=True)
    r = programme.staff.post(f"/plugins/loyalty/members/{member.id}/redeem",
                             data={"points": "75", "reason": "Wheel alignment", "csrf_token": csrf_token(page)})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "Only 50 points are available" in text
    assert 'value="75"' in text and 'value="Wheel alignment"' in text
    r = programme.staff.post(f"/plugins/loyalty/members/{member.id}/redeem",
                             data={"points": "20", "reason": "Wheel alignment", "csrf_token": csrf_token(page)})
    assert r.status_code == 303 and member_of(claim).balance == 30
    ledger = programme.staff.get(f"/plugins/loyalty/members/{member.id}").get_data(as_text=True)
    assert "Wheel alignment" in ledger and "-20" in ledger


def test_two_concurrent_redemptions_of_the_last_points_one_succeeds(app, db_backend, programme, make_claim, pay,
                                                                   member_of):
    if db_backend != "postgres":
        pytest.skip("row locking under concurrent transactions is proven on PostgreSQL (SQLite has one writer)")
    claim = make_claim(programme.shop, number="RO-5007")
    pay(claim, "100.00")
    member_id = member_of(claim).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem(n: int, round_: int) -> None:
        from bayline.plugin_api import Refused

        with app.test_request_context("/"), in_tenant(app, programme.shop.id) as db:
            member = service.get_member(member_id)
            barrier.wait()
            try:
                service.redeem(member, 100, f"Counter {n}", None, idempotency_key=f"race-{round_}-{n}")
                outcomes.append("ok")
            except Refused as refused:
                db.rollback()
                outcomes.append(refused.code)

    for round_ in range(5):
        threads = [threading.Thread(target=redeem, args=(n, round_)) for n in (1, 2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert sorted(outcomes) == ["loyalty_insufficient_points", "ok"], (outcomes, member_of(claim))
        m = member_of(claim)
        assert m.balance == m.total == 0
        outcomes.clear()
        r = programme.api.post(f"{API}/members/{member_id}/adjustments", json={"points": 100, "reason": "Again"})
        assert r.status_code == 201
        barrier.reset()


def test_staff_entered_amounts_earn_when_payments_are_not_recorded(app, programme, make_claim, set_setting,
                                                                  member_of):
    claim = make_claim(programme.shop, number="RO-5008")
    r = programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": "100.00"})
    assert r.status_code == 409 and r.get_json()["code"] == "loyalty_earn_from_payments"
    set_setting(programme.shop, "loyalty.earn_from", "staff")
    for amount, message in (("-5", "more than zero"), ("abc", "not a number"), ("1.234", "2 decimals")):
        r = programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": amount})
        assert r.status_code == 422 and message in r.get_json()["message"]
    r = programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": "320.50", "idempotency_key": "p1"})
    assert r.status_code == 201 and r.get_json()["earned"] == 320
    programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": "320.50", "idempotency_key": "p1"})
    r = programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": "500", "kind": "refund"})
    assert r.status_code == 422 and r.get_json()["code"] == "loyalty_refund_too_large"
    r = programme.api.post(f"{API}/claims/{claim.id}/payments", json={"amount": "20.50", "kind": "refund"})
    assert r.get_json()["earned"] == 300 and member_of(claim).balance == 300


def test_points_expire_after_the_set_months(app, programme, make_claim, pay, member_of, set_setting, monkeypatch):
    claim = make_claim(programme.shop, number="RO-5009")
    pay(claim, "300.00")
    member = member_of(claim)
    programme.api.post(f"{API}/members/{member.id}/redemptions", json={"points": 100, "reason": "Wipers"})
    set_setting(programme.shop, "loyalty.expiry_months", 12)
    from bayline_loyalty.tasks import expire

    with app.test_request_context("/"):
        assert expire() == 0  # nothing is old enough
    later = service.utc() + timedelta(days=400)
    monkeypatch.setattr(service, "utc", lambda: later)
    with app.test_request_context("/"):
        assert expire() == 200  # the unspent part of the old points
        assert expire() == 0  # idempotent
    m = member_of(claim)
    assert m.balance == m.total == 0 and m.ledger[-1] == ("expire", -200)


def test_offers_are_marketing_messages_needing_consent(app, programme, make_claim, pay, member_of, sms_outbox):
    claim = make_claim(programme.shop, number="RO-5010")
    pay(claim, "50.00")
    member = member_of(claim)
    r = programme.api.post(f"{API}/members/{member.id}/offers", json={"body": "20% off a detail this month"})
    assert r.status_code == 409 and r.get_json()["code"] == "no_marketing_consent"
    assert len(sms_outbox) == 0
    with in_tenant(app, programme.shop.id):
        from bayline.plugin_api import commit, consent

        consent.set_consent("+16175550100", "sms", "marketing", "granted", "test", wording_version="v1",
                            wording="Offers by text")
        commit()
    r = programme.api.post(f"{API}/members/{member.id}/offers", json={"body": "20% off a detail this month"})
    assert r.status_code == 201, r.get_json()
    with in_tenant(app, programme.shop.id) as db:
        from bayline.plugin_api import OutboxItem

        item = db.get(OutboxItem, r.get_json()["outbox_id"])
        assert item.purpose == "marketing"


def test_report_counts_issued_and_redeemed(app, programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-5011")
    pay(claim, "200.00")
    member = member_of(claim)
    programme.api.post(f"{API}/members/{member.id}/redemptions", json={"points": 50, "reason": "Air freshener"})
    report = programme.api.get(f"{API}/report").get_json()
    assert report["issued"]["earn"] == 200 and report["redeemed"] == 50 and report["members"] == 1
    r = programme.api.get(f"{API}/report?since=2030-01-02&until=2030-01-01")
    assert r.status_code == 422
    page = programme.staff.get("/plugins/loyalty/").get_data(as_text=True)
    assert "Points redeemed" in page and "200" in page


def test_programme_settings_refuse_bad_values_and_keep_the_others(app, programme):
    r = programme.api.patch("/api/v1/shop/settings", json={"loyalty.point_value": "abc",
                                                           "loyalty.points_per_unit": "2"})
    assert r.status_code == 422, r.get_json()
    assert "loyalty.point_value" in str(r.get_json()) and "an amount such as 0.05" in str(r.get_json())
    assert programme.api.get("/api/v1/shop/settings").get_json()["loyalty.points_per_unit"] == "1"  # none saved
    r = programme.api.patch("/api/v1/shop/settings", json={"loyalty.points_per_unit": "2",
                                                           "loyalty.expiry_months": 24})
    assert r.status_code == 200 and r.get_json()["loyalty.points_per_unit"] == "2"
    page = programme.staff.get("/console/settings/").get_data(as_text=True)
    assert "Points per unit of currency the customer pays" in page and "Points for a referral" in page
