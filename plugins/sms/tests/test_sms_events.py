"""Webhook events whose processing failed: recorded, retried with backoff, replayed by staff
(idempotently); delivery status changes pushed to the portal's live channel."""
from __future__ import annotations

import json

from bayline_sms.models import SmsInbound, SmsWebhookEvent
from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import func, select

from bayline.messages.models import Message
from bayline.messaging.models import OutboxItem
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import READY_SECONDS


def _send(app, sms_shop, claim_id: int, key: str = "k") -> dict:
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim_id}/messages", json={"body": "Hi", "idempotency_key": key})
    assert resp.status_code == 202
    return resp.get_json()


def _event(app, shop_id: int) -> SmsWebhookEvent:
    with in_tenant(app, shop_id) as session:
        row = session.scalars(select(SmsWebhookEvent).order_by(SmsWebhookEvent.id.desc())).first()
        session.expunge(row)
        return row


def test_status_before_our_commit_fails_retries_and_replays_once(app, sms_shop, make_claim, client_for,
                                                                  telnyx_api) -> None:
    """Telnyx's delivery webhook can beat our commit of the message id: the event fails (no row
    with that id yet), is kept with its error and a retry time, and a staff replay applies it."""
    from bayline_sms.tasks import release_held

    from bayline.db import utcnow
    from bayline.messaging.tasks import send as send_outbound

    claim = make_claim(sms_shop.shop)
    out = _send(app, sms_shop, claim.id)
    telnyx_id = telnyx_api.messages[0]["id"]
    with in_tenant(app, sms_shop.shop.id) as session:  # the task's commit has not landed yet
        row = session.get(OutboxItem, out["id"])
        row.provider_id, row.state = None, "queued"
        session.commit()
    body = telnyx_api.delivery(telnyx_id, "delivered", event_id="evt-early")
    assert post_webhook(app, body, telnyx_api.sign(body)).get_json()["status"] == "accepted"
    event = _event(app, sms_shop.shop.id)
    assert event.processed_at is None and event.attempts == 1 and "no outbound text" in event.last_error
    assert event.retry_at is not None and (event.retry_at - utcnow()).total_seconds() > 5
    failed = sms_shop.api.get("/plugins/sms/events").get_json()["failed"]
    assert [e["event_id"] for e in failed] == ["evt-early"]
    staff = client_for(sms_shop.owner)
    html = staff.get("/plugins/sms/").get_data(as_text=True)
    assert "evt-early" in html and f"/plugins/sms/events/{event.id}/replay" in html
    # replaying too early fails again, visibly, and changes nothing
    token = csrf_token(html)
    assert staff.post(f"/plugins/sms/events/{event.id}/replay", data={"csrf_token": token}).status_code == 302
    assert _event(app, sms_shop.shop.id).attempts == 2
    # the send task's commit lands (a rerun: same Idempotency-Key, no second text)
    with in_tenant(app, sms_shop.shop.id):
        send_outbound.apply(args=[out["id"]], headers={"bayline_tenant_id": sms_shop.shop.id})
    resp = sms_shop.api.post(f"/plugins/sms/events/{event.id}/replay")
    assert resp.status_code == 200 and resp.get_json()["status"] == "processed"
    again = sms_shop.api.post(f"/plugins/sms/events/{event.id}/replay")
    assert again.status_code == 200 and again.get_json()["status"] == "already"
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.get(OutboxItem, out["id"]).state == "delivered"
        assert session.get(Message, out["message_id"]).delivery_state == "delivered"
    assert sms_shop.api.get("/plugins/sms/events").get_json()["failed"] == []
    with app.app_context():  # nothing left for the beat task
        assert release_held.apply().get() == 0
    assert len(telnyx_api.messages) == 1


def test_failed_event_is_retried_by_the_beat_after_backoff(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline_sms.tasks import event_backoff, release_held

    from bayline.db import utcnow

    claim = make_claim(sms_shop.shop)
    out = _send(app, sms_shop, claim.id)
    telnyx_id = telnyx_api.messages[0]["id"]
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(OutboxItem, out["id"]).provider_id = None
        session.commit()
    body = telnyx_api.delivery(telnyx_id, "sent")
    post_webhook(app, body, telnyx_api.sign(body))
    event = _event(app, sms_shop.shop.id)
    with app.app_context():
        assert release_held.apply().get() == 0  # back-off not over
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(OutboxItem, out["id"]).provider_id = telnyx_id
        session.get(SmsWebhookEvent, event.id).retry_at = utcnow()
        session.commit()
    with app.app_context():
        assert release_held.apply().get() == 1
    event = _event(app, sms_shop.shop.id)
    assert event.processed_at is not None and event.attempts == 2 and event.last_error is None
    assert [event_backoff(n) for n in (1, 2, 3, 9)] == [10, 20, 40, 1800]


def test_replayed_inbound_threads_once(app, sms_shop, make_claim, telnyx_api) -> None:
    """A replay of an inbound event that was processed halfway (its text is threaded) adds nothing."""
    make_claim(sms_shop.shop)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "Is it ready?")
    post_webhook(app, body, telnyx_api.sign(body))
    event = _event(app, sms_shop.shop.id)
    with in_tenant(app, sms_shop.shop.id) as session:  # as if the worker died before marking it done
        session.get(SmsWebhookEvent, event.id).processed_at = None
        session.commit()
    resp = sms_shop.api.post(f"/plugins/sms/events/{event.id}/replay")
    assert resp.status_code == 200 and resp.get_json()["status"] == "processed"
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalar(select(func.count()).select_from(SmsInbound)) == 1
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def _failing_receive(monkeypatch) -> None:
    import bayline_sms.tasks as tasks

    def receive(shop, payload):
        raise RuntimeError("database trouble while threading the text")

    monkeypatch.setattr(tasks, "receive", receive)


def test_malformed_signed_payload_is_refused_and_nothing_is_stored(app, sms_shop, telnyx_api) -> None:
    payload = json.loads(telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "x"))
    payload["data"]["payload"]["from"] = "not an object"
    body = json.dumps(payload)
    assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 400
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalar(select(func.count()).select_from(SmsWebhookEvent)) == 0


def test_failed_processing_is_recorded_and_stays_replayable(app, sms_shop, telnyx_api, monkeypatch) -> None:
    _failing_receive(monkeypatch)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "x")
    assert post_webhook(app, body, telnyx_api.sign(body)).status_code == 200
    event = _event(app, sms_shop.shop.id)
    assert event.processed_at is None and "RuntimeError" in event.last_error
    resp = sms_shop.api.post(f"/plugins/sms/events/{event.id}/replay")
    assert resp.status_code == 202 and resp.get_json()["status"] == "failed"
    monkeypatch.undo()  # the trouble is over: a replay threads the text
    resp = sms_shop.api.post(f"/plugins/sms/events/{event.id}/replay")
    assert resp.status_code == 200 and resp.get_json()["status"] == "processed"


def test_replay_isolation_and_permissions(app, sms_shop, make_shop, make_user, api_client, client_for,
                                          telnyx_api, monkeypatch) -> None:
    _failing_receive(monkeypatch)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "x")
    post_webhook(app, body, telnyx_api.sign(body))
    event = _event(app, sms_shop.shop.id)
    other = make_shop(plan="starter")
    for client in (api_client(other),):
        assert client.post(f"/plugins/sms/events/{event.id}/replay").status_code == 404
        assert client.get("/plugins/sms/events").get_json()["failed"] == []
    assert sms_shop.api.post("/plugins/sms/events/999999/replay").status_code == 404
    tech = client_for(make_user(sms_shop.shop, "technician"))
    assert tech.post(f"/plugins/sms/events/{event.id}/replay", headers={"X-CSRFToken": "x"}).status_code in (400, 403)
    assert app.test_client().post(f"/plugins/sms/events/{event.id}/replay").status_code in (400, 401)
    assert _event(app, sms_shop.shop.id).attempts == 1


def test_delivery_status_is_pushed_to_the_portal_live_channel(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.live import channel, get_broker

    claim = make_claim(sms_shop.shop)
    _send(app, sms_shop, claim.id)
    telnyx_id = telnyx_api.messages[0]["id"]
    with app.app_context():
        subscription = get_broker().subscribe(channel(sms_shop.shop.id, claim.id))
    try:
        for status in ("sent", "delivered"):
            body = telnyx_api.delivery(telnyx_id, status, event_id=f"evt-{status}")
            post_webhook(app, body, telnyx_api.sign(body))
        got = [subscription.get(timeout=60), subscription.get(timeout=60)]
        assert [m["type"] for m in got] == ["message.sent", "message.sent"]
        assert [m["id"] for m in got] == ["sms-status:evt-sent", "sms-status:evt-delivered"]
        late = telnyx_api.delivery(telnyx_id, "sent", event_id="evt-late")  # no change: nothing pushed
        post_webhook(app, late, telnyx_api.sign(late))
        assert subscription.get(timeout=0.5) is None
    finally:
        subscription.close()


def test_delivery_status_reaches_an_open_portal_stream(app, sms_shop, make_claim, portal_client,
                                                       telnyx_api) -> None:
    """Through the real SSE route: the customer's open page is told the thread changed."""
    import threading

    claim = make_claim(sms_shop.shop)
    _send(app, sms_shop, claim.id)
    telnyx_id = telnyx_api.messages[0]["id"]
    app.config["BAYLINE_SSE_MAX_SECONDS"] = READY_SECONDS  # the stream must outlive a slow webhook
    app.config["BAYLINE_SSE_HEARTBEAT"] = 0.2
    customer = portal_client(claim)
    lines: list[str] = []
    started, heard = threading.Event(), threading.Event()

    def listen() -> None:
        resp = customer.get("/c/s/events", buffered=False)
        for chunk in resp.response:
            started.set()
            lines.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if '"message.sent"' in lines[-1]:
                heard.set()
                break

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert started.wait(READY_SECONDS)
    body = telnyx_api.delivery(telnyx_id, "delivered")
    post_webhook(app, body, telnyx_api.sign(body))
    assert heard.wait(READY_SECONDS), lines
