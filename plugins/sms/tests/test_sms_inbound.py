"""Inbound threading rules, the shop inbox, and the consent keywords."""
from __future__ import annotations

import pytest
from bayline_sms.models import SmsInbound
from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import select

from bayline.messages.models import Message
from bayline.messaging.models import ConsentEvent, ConsentRecord, Suppression
from bayline.testing.plugin import in_tenant


def _text(app, api, body: str, sender: str = CUSTOMER) -> None:
    payload = api.inbound(sender, SHOP_NUMBER, body)
    assert post_webhook(app, payload, api.sign(payload)).status_code == 200


def test_single_open_claim_gets_the_reply(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    make_claim(sms_shop.shop, customer_mobile="+16175550142")  # someone else
    _text(app, telnyx_api, "When is pickup?")
    with in_tenant(app, sms_shop.shop.id) as session:
        msg = session.scalars(select(Message)).one()
        assert (msg.claim_id, msg.channel, msg.direction, msg.body) == (claim.id, "sms", "in", "When is pickup?")
        assert session.scalars(select(SmsInbound)).one().needs_refile is False


def test_several_open_claims_pick_latest_and_flag(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.claims.models import Claim
    from bayline.db import utcnow

    older = make_claim(sms_shop.shop)
    newer = make_claim(sms_shop.shop)
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(Claim, newer.id).updated_at = utcnow()
        session.commit()
    _text(app, telnyx_api, "Which car?")
    with in_tenant(app, sms_shop.shop.id) as session:
        inbound = session.scalars(select(SmsInbound)).one()
        assert inbound.claim_id == newer.id and inbound.needs_refile is True
    inbox = sms_shop.api.get("/plugins/sms/inbox").get_json()["inbox"]
    assert [i["id"] for i in inbox] == [inbound.id]
    moved = sms_shop.api.post(f"/plugins/sms/inbox/{inbound.id}/attach", json={"claim_id": older.id})
    assert moved.status_code == 200 and moved.get_json()["needs_refile"] is False
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Message)).one().claim_id == older.id


def test_no_open_claim_goes_to_inbox(app, sms_shop, make_claim, telnyx_api) -> None:
    _text(app, telnyx_api, "Hi, I need a quote", sender="+16175550177")
    inbox = sms_shop.api.get("/plugins/sms/inbox").get_json()["inbox"]
    assert len(inbox) == 1 and inbox[0]["claim_id"] is None and inbox[0]["body"] == "Hi, I need a quote"
    claim = make_claim(sms_shop.shop, customer_mobile="+16175550177")
    assert sms_shop.api.post(f"/plugins/sms/inbox/{inbox[0]['id']}/attach",
                             json={"claim_id": claim.id}).status_code == 200
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Message)).one().claim_id == claim.id


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "revoke", "OptOut",
                                  "  stop  ", "Stop."])
def test_opt_out_words_refuse_later_sends_before_the_api(app, sms_shop, make_claim, telnyx_api, word) -> None:
    claim = make_claim(sms_shop.shop)
    _text(app, telnyx_api, word)
    with in_tenant(app, sms_shop.shop.id) as session:
        # the core ledger: every purpose revoked on SMS, and the number on the suppression list
        rows = session.scalars(select(ConsentRecord).order_by(ConsentRecord.purpose)).all()
        assert [(r.contact, r.channel, r.purpose, r.status) for r in rows] == [
            (CUSTOMER, "sms", "marketing", "revoked"), (CUSTOMER, "sms", "transactional", "revoked")]
        assert session.scalars(select(Suppression)).one().contact == CUSTOMER
    before = len(telnyx_api.requests)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Ready!"})
    assert resp.status_code == 409 and resp.get_json()["code"] == "sms_opted_out"
    assert "opted out" in resp.get_json()["message"]
    assert len(telnyx_api.requests) == before


def test_start_opts_back_in(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    _text(app, telnyx_api, "STOP")
    _text(app, telnyx_api, "unstop")
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Welcome back"})
    assert resp.status_code == 202
    assert [m["text"] for m in telnyx_api.messages] == ["Welcome back"]
    with in_tenant(app, sms_shop.shop.id) as session:
        record = session.scalars(select(ConsentRecord).where(ConsentRecord.purpose == "transactional")).one()
        history = session.scalars(select(ConsentEvent).where(ConsentEvent.record_id == record.id)
                                  .order_by(ConsentEvent.id)).all()
        assert [h.status for h in history] == ["revoked", "granted"]
        assert session.scalars(select(Suppression)).first() is None


def test_stop_inside_a_sentence_is_not_an_opt_out(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    _text(app, telnyx_api, "please stop the work on my car")
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(ConsentRecord)).first() is None
        assert session.scalars(select(Message)).one().body == "please stop the work on my car"
    assert sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "OK"}).status_code == 202


def test_help_answers_with_shop_name_and_phone(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    _text(app, telnyx_api, "help")
    [reply] = telnyx_api.messages
    assert reply["to"][0]["phone_number"] == CUSTOMER and reply["from"]["phone_number"] == SHOP_NUMBER
    assert "Harbor Collision" in reply["text"] and "(617) 555-0111" in reply["text"]
