"""Reply or tap: an SMS reply that is only a score answers the overall question, but only while the
survey is open and unanswered and was the last text sent to the customer; any other text is an
ordinary message and records nothing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bayline.testing.plugin import in_tenant


def _due_day(delivered: datetime) -> datetime:
    day = (delivered + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def _survey(csi_shop, claim) -> dict:
    return csi_shop.api.get(f"/api/v1/plugins/csi/claims/{claim.id}/survey").get_json()


def _reply(app, claim, body):
    from bayline.plugin_api import Claim, commit, messages

    with in_tenant(app, claim.tenant_id) as session:
        messages.receive(session.get(Claim, claim.id), body, channel="sms")
        commit(session)


def test_a_score_reply_answers_the_survey(app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox):
    claim = make_claim(csi_shop.shop, customer_mobile="+16175550141")
    delivered = deliver(claim)
    _reply(app, claim, "2")  # the survey is not out yet: an ordinary message
    assert _survey(csi_shop, claim)["response"] is None
    travel(_due_day(delivered))
    dispatch()
    assert "Reply with a score" in sms_outbox.to("+16175550141")[0].body
    for text in ("9", "4 stars", "four", "-1", "100"):
        _reply(app, claim, text)
        assert _survey(csi_shop, claim)["response"] is None, text
    _reply(app, claim, " 2. ")
    body = _survey(csi_shop, claim)
    assert body["response"]["overall"] == 2 and body["followup"]["status"] == "open"
    assert body["invitation"]["rule"] == "responded"
    _reply(app, claim, "5")  # answered: a later digit changes nothing
    assert _survey(csi_shop, claim)["response"]["overall"] == 2


def test_a_digit_answering_another_text_is_not_a_score(app, csi_shop, make_claim, deliver, travel, dispatch,
                                                       sms_outbox):
    from bayline.plugin_api import Claim, commit, outbox

    claim = make_claim(csi_shop.shop, customer_mobile="+16175550142")
    travel(_due_day(deliver(claim)))
    dispatch()
    with in_tenant(app, csi_shop.shop.id) as session:
        outbox.enqueue(channel="sms", purpose="transactional", recipient="+16175550142",
                       body="Your rental return is at 5 today. Reply 1 to confirm.", idempotency_key="staff-1",
                       claim=session.get(Claim, claim.id), kind="requested")
        commit(session)
    assert len(sms_outbox.to("+16175550142")) == 2
    _reply(app, claim, "1")
    assert _survey(csi_shop, claim)["response"] is None


@pytest.mark.parametrize("channel", ["portal"])
def test_a_portal_message_is_never_a_score(app, csi_shop, make_claim, deliver, travel, dispatch, sms_outbox,
                                           channel):
    from bayline.plugin_api import Claim, commit, messages

    claim = make_claim(csi_shop.shop, customer_mobile="+16175550143")
    travel(_due_day(deliver(claim)))
    dispatch()
    with in_tenant(app, claim.tenant_id) as session:
        messages.receive(session.get(Claim, claim.id), "5", channel=channel)
        commit(session)
    assert _survey(csi_shop, claim)["response"] is None
