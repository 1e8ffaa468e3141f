"""Acceptance of the core outbox (issue 14) through the SMS channel and its Telnyx stand-in:
idempotent sends, purposes and consent, opt-out words, the due-time scheduler and quiet hours."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import select

from bayline.testing.plugin import in_tenant


def _enqueue(app, shop_id, **kw):
    from bayline.messaging import service as outbox

    with in_tenant(app, shop_id):
        item, created = outbox.enqueue(**{"channel": "sms", "purpose": "transactional", "recipient": CUSTOMER,
                                          "body": "Hello", "kind": "automatic", **kw})
        return item.id, item.state, item.reason, created


def _item(app, shop_id, item_id):
    from bayline.messaging.models import OutboxItem

    with in_tenant(app, shop_id) as session:
        item = session.get(OutboxItem, item_id)
        session.expunge(item)
        return item


def _travel(monkeypatch, when: datetime) -> None:
    import bayline.messaging.service as service
    import bayline.messaging.tasks as tasks

    monkeypatch.setattr(tasks, "utcnow", lambda: when)
    monkeypatch.setattr(service, "utcnow", lambda: when)


def test_double_clicked_send_is_one_row_and_one_message(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.messaging.models import OutboxItem

    claim = make_claim(sms_shop.shop)
    for _ in range(2):
        sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "idempotency_key": "dbl"})
    with in_tenant(app, sms_shop.shop.id) as session:
        assert len(session.scalars(select(OutboxItem)).all()) == 1
    assert len(telnyx_api.messages) == 1


def test_marketing_without_marketing_consent_is_refused_before_the_provider(app, sms_shop, make_claim,
                                                                            telnyx_api) -> None:
    from bayline.messaging import consent
    from bayline.messaging import service as outbox

    claim = make_claim(sms_shop.shop)
    sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Update"})  # intake consent
    before = len(telnyx_api.requests)
    with in_tenant(app, sms_shop.shop.id):
        assert consent.record(CUSTOMER, "sms", "transactional").status == "granted"
        with pytest.raises(outbox.Refused) as refused:
            outbox.enqueue(channel="sms", purpose="marketing", recipient=CUSTOMER, body="20% off detailing",
                           idempotency_key="promo-1", kind="automatic")
    assert refused.value.code == "no_marketing_consent" and "express written consent" in refused.value.message
    assert len(telnyx_api.requests) == before
    # with the express written consent recorded (its wording), the same offer goes out
    with in_tenant(app, sms_shop.shop.id) as session:
        consent.set_consent(CUSTOMER, "sms", "marketing", "granted", "web_form", wording_version="mkt-v1",
                            wording="Yes, text me offers. Msg&data rates may apply. Reply STOP to cancel.",
                            ip="203.0.113.9", user_agent="pytest")
        session.commit()
    monkey_noon = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)  # 12:00 in New York: inside marketing hours
    import bayline.messaging.service as service
    import bayline.messaging.tasks as tasks

    old = (service.utcnow, tasks.utcnow)
    service.utcnow = tasks.utcnow = lambda: monkey_noon
    try:
        _, state, _, _ = _enqueue(app, sms_shop.shop.id, purpose="marketing", body="20% off detailing",
                                        idempotency_key="promo-2")
    finally:
        service.utcnow, tasks.utcnow = old
    assert state == "sending" and telnyx_api.messages[-1]["text"] == "20% off detailing"


def test_stop_on_sms_blocks_both_purposes_on_sms_but_not_email(app, sms_shop, telnyx_api) -> None:
    from bayline.messaging import consent
    from bayline.messaging import service as outbox

    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "STOP")
    assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 200
    with in_tenant(app, sms_shop.shop.id):
        for purpose in ("transactional", "marketing", "conversational"):
            assert not consent.check(CUSTOMER, "sms", purpose).allowed
        assert consent.check("dana@example.com", "email", "transactional").allowed
        assert consent.check(CUSTOMER, "email", "transactional").allowed  # another channel: not revoked
        with pytest.raises(outbox.Refused) as refused:
            outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER, body="Ready",
                           idempotency_key="after-stop", kind="automatic")
    assert refused.value.code == "opted_out"
    assert telnyx_api.messages == []


@pytest.mark.parametrize("text,opted_out", [("please stop texting me", True), ("Stop messaging me!", True),
                                            ("stop the work please", False), ("stop the work on my car", False)])
def test_natural_language_opt_out_is_recorded(app, sms_shop, make_claim, telnyx_api, text, opted_out) -> None:
    from bayline.messaging import consent
    from bayline.messaging.models import ConsentEvent

    make_claim(sms_shop.shop)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, text)
    assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 200
    with in_tenant(app, sms_shop.shop.id) as session:
        assert consent.is_suppressed(CUSTOMER, "sms") is opted_out
        events = session.scalars(select(ConsentEvent)).all()
        assert bool(events) is opted_out
        if opted_out:
            assert {e.detail for e in events} == {text} and {e.source for e in events} == {"reply"}


def test_reminder_due_in_three_days_survives_a_restart_and_is_sent_once(app, sms_shop, telnyx_api,
                                                                        monkeypatch) -> None:
    """A reminder is a row with ``due_at`` (no broker ETA): nothing in memory to lose when workers
    restart; the beat task sends it once its time has come, and only once."""
    from bayline.messaging.tasks import dispatch_due

    now = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 11:00 in New York
    _travel(monkeypatch, now)
    due = now + timedelta(days=3)
    item_id, state, reason, _ = _enqueue(app, sms_shop.shop.id, body="Reminder: your appointment tomorrow",
                                         idempotency_key="reminder-1", due_at=due)
    assert state == "held" and reason == "waiting: scheduled for 2026-06-04 11:00"
    with app.app_context():
        assert dispatch_due.apply().get() == 0
    _travel(monkeypatch, due - timedelta(minutes=1))
    with app.app_context():
        assert dispatch_due.apply().get() == 0
    assert telnyx_api.messages == []
    _travel(monkeypatch, due + timedelta(seconds=30))
    with app.app_context():  # a fresh app context: what a restarted worker and beat see
        assert dispatch_due.apply().get() == 1
        assert dispatch_due.apply().get() == 0
    assert [m["text"] for m in telnyx_api.messages] == ["Reminder: your appointment tomorrow"]
    assert _item(app, sms_shop.shop.id, item_id).state == "sending"


def test_quiet_hours_hold_is_released_at_the_window_start_in_the_recipients_zone(app, sms_shop, telnyx_api,
                                                                                 monkeypatch) -> None:
    from bayline import settings_registry
    from bayline.events import commit
    from bayline.messaging.tasks import dispatch_due

    with in_tenant(app, sms_shop.shop.id):  # shop in New York; this recipient lives in Los Angeles
        settings_registry.set_values(sms_shop.shop.id, {"messaging.quiet_hours_start": "21:00",
                                                        "messaging.quiet_hours_end": "08:00"}, None)
        commit()
    # 10:00 UTC: 06:00 in New York, 03:00 in Los Angeles
    now = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    _travel(monkeypatch, now)
    item_id, state, reason, _ = _enqueue(app, sms_shop.shop.id, body="Your car is ready",
                                         idempotency_key="quiet-1", recipient_timezone="America/Los_Angeles")
    assert state == "held" and reason == "waiting: quiet hours until 08:00"
    opens = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 08:00 in Los Angeles (not 12:00 UTC, New York's)
    assert _item(app, sms_shop.shop.id, item_id).due_at == opens
    _travel(monkeypatch, datetime(2026, 6, 2, 12, 30, tzinfo=UTC))  # New York is awake, LA is not
    with app.app_context():
        assert dispatch_due.apply().get() == 0
    _travel(monkeypatch, opens)
    with app.app_context():
        assert dispatch_due.apply().get() == 1
    assert [m["text"] for m in telnyx_api.messages] == ["Your car is ready"]


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_two_beat_processes_racing_claim_each_due_row_once(app, sms_shop, database_url) -> None:
    """Two beats at once on PostgreSQL: ``FOR UPDATE SKIP LOCKED`` hands each due row to one of them."""
    from sqlalchemy.orm import Session

    from bayline.db import make_engine
    from bayline.messaging.models import OutboxItem
    from bayline.messaging.tasks import due_ids

    with in_tenant(app, sms_shop.shop.id) as session:
        past = datetime.now(UTC) - timedelta(minutes=5)
        for n in range(40):
            session.add(OutboxItem(idempotency_key=f"race-{n}", channel="sms", purpose="transactional",
                                   kind="automatic", recipient=CUSTOMER, body=f"n{n}", options={}, state="held",
                                   due_at=past, attempts=0))
        session.commit()
    engine = make_engine(database_url)
    barrier = threading.Barrier(2)
    results: list[list[tuple[int, int]]] = [[], []]

    def beat(slot: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            for _ in range(3):
                results[slot].extend(due_ids(own, datetime.now(UTC)))

    threads = [threading.Thread(target=beat, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    claimed = [i for r in results for i, _ in r]
    assert len(claimed) == 40 and len(set(claimed)) == 40


def test_outbox_api_lists_filters_cancels_retries_and_queues_drafts(app, sms_shop, make_claim, client_for,
                                                                    telnyx_api, monkeypatch) -> None:
    from bayline.messaging import service as outbox
    from bayline.testing.forms import csrf_token

    claim = make_claim(sms_shop.shop)
    api = sms_shop.api
    _travel(monkeypatch, datetime(2026, 6, 2, 16, 0, tzinfo=UTC))
    held, *_ = _enqueue(app, sms_shop.shop.id, idempotency_key="later", due_at=datetime(2026, 6, 9, 16, 0,
                                                                                         tzinfo=UTC))
    with in_tenant(app, sms_shop.shop.id) as session:
        from bayline.claims.models import Claim

        draft, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER, body="Draft {first_name}",
                                  idempotency_key="draft-1", claim=session.get(Claim, claim.id), draft=True)
        draft_id = draft.id
    assert telnyx_api.messages == []
    rows = api.get("/api/v1/outbox?state=held").get_json()
    assert [r["id"] for r in rows] == [held] and rows[0]["reason"].startswith("waiting: scheduled for")
    assert api.get(f"/api/v1/claims/{claim.id}/outbox").get_json()[0]["state"] == "draft"
    assert api.get("/api/v1/outbox?state=nonsense").status_code == 422
    # an API key may not send a draft: only a staff member
    refused = api.post(f"/api/v1/outbox/{draft_id}/queue", json={})
    assert refused.status_code == 403 and refused.get_json()["code"] == "staff_only"
    staff = client_for(sms_shop.owner)
    token = csrf_token(staff, f"/console/claims/{claim.id}")
    sent = staff.post(f"/api/v1/outbox/{draft_id}/queue", json={}, headers={"X-CSRFToken": token})
    assert sent.status_code == 200 and sent.get_json()["state"] == "sending", sent.get_json()
    assert [m["text"] for m in telnyx_api.messages] == ["Draft {first_name}"]
    again = staff.post(f"/api/v1/outbox/{draft_id}/queue", json={}, headers={"X-CSRFToken": token})
    assert again.status_code == 409 and again.get_json()["code"] == "outbox_invalid_state"
    # cancel the held reminder; retry is only for failed messages
    assert api.post(f"/api/v1/outbox/{held}/retry").get_json()["code"] == "outbox_invalid_state"
    assert api.post(f"/api/v1/outbox/{held}/cancel").get_json()["state"] == "cancelled"
    assert api.post(f"/api/v1/outbox/{held}/cancel").status_code == 409
    telnyx_api.blocked.add(CUSTOMER)
    failed, *_ = _enqueue(app, sms_shop.shop.id, idempotency_key="to-fail")
    body = api.get(f"/api/v1/outbox/{failed}").get_json()
    assert body["state"] == "failed" and body["reason"]
    telnyx_api.blocked.discard(CUSTOMER)
    with in_tenant(app, sms_shop.shop.id):  # 40300 (blocked) opted the number out; the shop asked again
        from bayline.messaging import consent

        consent.opt_in(CUSTOMER, "sms", "staff")
        from bayline.events import commit

        commit()
    retried = api.post(f"/api/v1/outbox/{failed}/retry")
    assert retried.status_code == 200 and retried.get_json()["state"] == "sending", retried.get_json()
    assert api.get("/api/v1/openapi.json").get_json()["paths"].keys() >= {
        "/api/v1/outbox", "/api/v1/claims/{claim_id}/outbox", "/api/v1/outbox/{item_id}/cancel",
        "/api/v1/outbox/{failed_item_id}/retry", "/api/v1/outbox/{draft_id}/queue", "/api/v1/consent"}


def test_consent_api_shows_history_and_records_edits(app, sms_shop, telnyx_api) -> None:
    api = sms_shop.api
    no_wording = api.put("/api/v1/consent", json={"contact": CUSTOMER, "channel": "sms", "purpose": "marketing",
                                                  "status": "granted"})
    assert no_wording.status_code == 422 and "wording" in no_wording.get_json()["message"]
    bad = api.put("/api/v1/consent", json={"contact": CUSTOMER, "channel": "sms", "purpose": "promo",
                                           "status": "granted"})
    assert bad.status_code == 422 and bad.get_json()["code"] == "validation_error"
    ok = api.put("/api/v1/consent", json={"contact": CUSTOMER, "channel": "sms", "purpose": "marketing",
                                          "status": "granted", "source": "paper_form", "wording_version": "m-2",
                                          "wording": "Yes, send me offers by text."},
                 headers={"User-Agent": "front-desk-tablet"})
    assert ok.status_code == 200
    view = api.put("/api/v1/consent", json={"contact": CUSTOMER, "channel": "sms", "purpose": "transactional",
                                            "status": "revoked", "detail": "asked on the phone"}).get_json()
    assert view["suppressed"]["sms"] is True and view["suppressed"]["email"] is False
    assert [(h["purpose"], h["status"]) for h in view["history"]] == [
        ("marketing", "granted"), ("transactional", "revoked"), ("marketing", "revoked")]
    assert view["history"][0]["wording"] == "Yes, send me offers by text."
    assert view["history"][0]["user_agent"] == "front-desk-tablet"
    listed = api.get(f"/api/v1/consent?contact={CUSTOMER.replace('+', '%2B')}").get_json()
    assert {(r["purpose"], r["status"]) for r in listed["records"]} == {("marketing", "revoked"),
                                                                       ("transactional", "revoked")}
