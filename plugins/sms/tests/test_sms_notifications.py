"""Automatic stage notifications (template, per-stage choice, cool-down) and quiet hours."""
from __future__ import annotations

from datetime import UTC, datetime

from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER

from bayline.testing.plugin import in_tenant


def _settings(app, shop_id: int, **values) -> None:
    from bayline import settings_registry
    from bayline.events import commit

    with in_tenant(app, shop_id):
        # quiet hours are the core's (messaging.*), the rest the plugin's (sms.*)
        settings_registry.set_values(shop_id, {(f"messaging.{k}" if k.startswith("quiet_hours") else f"sms.{k}"): v
                                               for k, v in values.items()}, None)
        commit()


def _move(api, claim_id: int, name: str) -> None:
    stage = next(s for s in api.get("/api/v1/stages").get_json() if s["name"] == name)
    assert api.post(f"/api/v1/claims/{claim_id}/stage", json={"stage_id": stage["id"]}).status_code == 200


def test_stage_change_texts_the_customer_once_within_cooldown(app, sms_shop, make_claim, telnyx_api) -> None:
    _settings(app, sms_shop.shop.id, stage_notifications=True, notify_stages="Estimate, Completed",
              stage_template="Hi {first_name}, {shop_name}: your {vehicle} is at {stage}.")
    claim = make_claim(sms_shop.shop, vehicle_year=2021, vehicle_make="Subaru", vehicle_model="Outback")
    _move(sms_shop.api, claim.id, "Estimate")
    _move(sms_shop.api, claim.id, "Teardown")  # not chosen: no text
    _move(sms_shop.api, claim.id, "Estimate")  # back and forth inside the cool-down: no second text
    assert len(telnyx_api.messages) == 1
    sent = telnyx_api.message_posts()[0]["json"]
    assert (sent["from"], sent["to"]) == (SHOP_NUMBER, CUSTOMER)
    assert sent["text"].startswith("Hi Dana, Harbor Collision: your 2021 Subaru Outback is at ")
    thread = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"]
    assert thread[0]["kind"] == "automatic"


def test_notifications_off_by_default(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    _move(sms_shop.api, claim.id, "Estimate")
    assert telnyx_api.requests == []


def test_quiet_hours_hold_automatic_and_ask_staff(app, sms_shop, make_claim, telnyx_api) -> None:
    from zoneinfo import ZoneInfo

    now_local = datetime.now(UTC).astimezone(ZoneInfo("America/New_York"))
    start = now_local.replace(minute=0).strftime("%H:%M")
    end = ((now_local.hour + 2) % 24)
    claim = make_claim(sms_shop.shop)  # opened before texts are switched on: no intake text
    _settings(app, sms_shop.shop.id, stage_notifications=True, quiet_hours_start=start,
              quiet_hours_end=f"{end:02d}:00")
    _move(sms_shop.api, claim.id, "Estimate")
    [held] = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["outbound"]
    assert held["status"] == "held" and held["not_before"]
    assert telnyx_api.requests == []
    refused = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "sms_quiet_hours"
    ok = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Hi", "confirm_quiet_hours": True})
    assert ok.status_code == 202 and len(telnyx_api.messages) == 1
    # the window opens: the periodic task releases the held text
    from bayline.db import utcnow
    from bayline.messaging.models import OutboxItem
    from bayline.messaging.tasks import dispatch_due as release_held  # held texts: the core's beat

    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(OutboxItem, held["id"]).due_at = utcnow()
        session.commit()
    with app.app_context():
        assert release_held.apply().get() == 1
    assert len(telnyx_api.messages) == 2


def test_preview_counts_segments(app, sms_shop, make_claim) -> None:
    claim = make_claim(sms_shop.shop)
    resp = sms_shop.api.post("/plugins/sms/preview", json={"template": "Hi {first_name} from {shop_name}",
                                                           "claim_id": claim.id}).get_json()
    assert resp["text"] == "Hi Dana from Harbor Collision" and resp["encoding"] == "GSM-7" and resp["segments"] == 1
    emoji = sms_shop.api.post("/plugins/sms/preview", json={"template": "Ready 🚗" + "x" * 70}).get_json()
    assert emoji["encoding"] == "UCS-2" and emoji["segments"] == 2


def test_per_stage_template_overrides_the_default(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop, vehicle_make="Mazda")  # before texts are on: no intake text
    _settings(app, sms_shop.shop.id, stage_notifications=True,
              stage_templates="Supp Appr: Good news {first_name}: the supplement for your {vehicle} is approved.")
    _move(sms_shop.api, claim.id, "Supp Appr")
    _move(sms_shop.api, claim.id, "Started")
    texts = [m["text"] for m in telnyx_api.messages]
    assert texts[0] == "Good news Dana: the supplement for your Mazda is approved."
    assert texts[1].startswith("Hi Dana, an update from Harbor Collision")


def test_bad_stage_templates_setting_is_rejected(app, sms_shop) -> None:
    resp = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.stage_templates": "no colon here"})
    assert resp.status_code == 422 and "sms.stage_templates" in str(resp.get_json())
