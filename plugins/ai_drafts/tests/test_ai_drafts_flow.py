"""The staff flow on the claim page: "Draft reply" fills the composer, "Suggest" answers one
incoming message, a draft is sent or discarded only by a staff member, and the quality page shows
the approval-without-edit rate. No code path sends a draft without a staff action."""
from __future__ import annotations

import re

from sqlalchemy import select

from bayline.testing.plugin import in_tenant

JSON = {"Accept": "application/json"}


def _draft_id(response) -> int:
    return int(response.headers["Location"].split("ai_draft=")[1].split("#")[0])


def test_draft_reply_fills_the_composer(app, ai_shop, fact_claim, post_form, sms_outbox):
    claim = fact_claim(ai_shop.shop, incoming="When will my car be ready?")
    page = ai_shop.client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    composer = page[page.index('id="composer"'):page.index("</form>", page.index('id="composer"'))]
    assert 'id="ai-draft-reply"' in composer and "formnovalidate" in composer
    assert f'formaction="/plugins/ai_drafts/claims/{claim.id}/draft"' in composer
    assert 'id="composer-send"' in composer  # no draft shown: the core's Send stays
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"})
    assert r.status_code == 303
    page = ai_shop.client.get(r.headers["Location"].split("#")[0]).get_data(as_text=True)
    body = re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "Hi Dana, your 2019 Honda Civic is at the stage" in body and "Tuesday, June 9" in body
    assert re.search(r'value="sms" checked', page)
    assert 'id="ai-draft-send"' in page and 'id="composer-send"' not in page and 'data-one-click="yes"' in page


def test_suggest_on_an_incoming_message(app, ai_shop, fact_claim, post_form):
    from bayline_ai_drafts.models import AiDraft

    from bayline.plugin_api import Claim, Message, commit, messages

    claim = fact_claim(ai_shop.shop, incoming="How much do I owe?")
    with in_tenant(app, ai_shop.shop.id) as session:
        messages.receive(session.get(Claim, claim.id), "Thanks!", channel="sms")
        commit(session)
        first = session.scalars(select(Message).where(Message.body == "How much do I owe?")).one().id
    page = ai_shop.client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert page.count("Suggest a reply") == 2 and f'name="message_id" value="{first}"' in page
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft",
                  {"message_id": str(first), "channel": "sms"})
    with in_tenant(app, ai_shop.shop.id) as session:
        draft = session.get(AiDraft, _draft_id(r))
        assert draft.reply_to_message_id == first and draft.intent == "billing"
    # a message of another claim is refused
    other = fact_claim(ai_shop.shop, incoming=None)
    r = post_form(ai_shop.client, other.id, f"/plugins/ai_drafts/claims/{other.id}/draft",
                  {"message_id": str(first)}, headers=JSON)
    assert r.status_code == 404 and r.get_json()["code"] == "ai_drafts_no_message"


def test_no_code_path_sends_a_draft_without_a_staff_action(app, ai_shop, fact_claim, standin, use_endpoint,
                                                           set_setting, sms_outbox, api_client, post_form):
    from bayline.messaging.tasks import dispatch_due
    from bayline.plugin_api import Message, OutboxItem

    shop = ai_shop.shop
    claim = fact_claim(shop, incoming="When is it ready?", customer_email="dana@example.com")
    key = api_client(shop, ("write",))
    ids = []
    for provider in ("template", "openai_compatible"):
        if provider == "openai_compatible":
            use_endpoint(shop)
        else:
            set_setting(shop, "ai_drafts.provider", "template")
        for channel in ("sms", "email", "portal"):
            r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft",
                          {"channel": channel}, headers=JSON)
            assert r.status_code == 201, r.get_data(as_text=True)
            ids.append(r.get_json()["id"])
            r = key.post(f"/api/v1/plugins/ai_drafts/claims/{claim.id}/drafts", json={"channel": channel})
            assert r.status_code == 201, r.get_data(as_text=True)
            ids.append(r.get_json()["id"])
        r = key.post(f"/api/v1/plugins/ai_drafts/claims/{claim.id}/drafts", json={"mode": "adjuster"})
        assert r.status_code == 201 and r.get_json()["channel"] == "email"
        ids.append(r.get_json()["id"])
    with app.app_context():
        dispatch_due()  # the scheduler never picks up a draft
    # an API key cannot send one: only a logged-in staff member
    r = key.post(f"/plugins/ai_drafts/drafts/{ids[0]}/send", data={"body": "x"}, headers=JSON)
    assert r.status_code == 403 and r.get_json()["code"] == "staff_only"
    r = key.post(f"/api/v1/outbox/{key.get(f'/api/v1/plugins/ai_drafts/drafts/{ids[0]}').get_json()['outbox_item_id']}"
                 "/queue")
    assert r.status_code == 403 and r.get_json()["code"] == "staff_only"
    with in_tenant(app, shop.id) as session:
        states = {i.state for i in session.scalars(select(OutboxItem))}
        assert states == {"draft"}
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
        assert outbound == []
    assert len(sms_outbox) == 0  # the SMS channel stand-in got nothing
    assert all(q["path"] in ("/v1/models", "/v1/chat/completions") for q in standin.requests)
    assert len(ids) == 14 and len(standin.chats()) == 7  # only the endpoint's drafts reached it


def test_template_provider_sends_nothing_to_the_endpoint(app, ai_shop, fact_claim, standin, use_endpoint,
                                                         set_setting, post_form):
    use_endpoint(ai_shop.shop, provider="template")  # an endpoint is set, but the shop did not choose it
    claim = fact_claim(ai_shop.shop)
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert r.status_code == 201 and standin.requests == []


def test_send_discard_and_the_approval_rate(app, ai_shop, fact_claim, sms_outbox, post_form):
    from bayline.plugin_api import OutboxItem

    claim = fact_claim(ai_shop.shop)
    drafts = []
    for _ in range(3):
        r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                      headers=JSON)
        drafts.append(r.get_json())
    as_drafted, edited, dropped = drafts
    post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{as_drafted['id']}/send",
              {"body": as_drafted["text"]})
    post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{edited['id']}/send",
              {"body": edited["text"] + " See you soon."})
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{dropped['id']}/discard", {})
    assert r.status_code == 303
    assert [m.body for m in sms_outbox] == [as_drafted["text"], edited["text"] + " See you soon."]
    with in_tenant(app, ai_shop.shop.id) as session:
        states = [i.state for i in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]
        assert states[2] == "cancelled" and "draft" not in states
    # sending twice does nothing twice
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{as_drafted['id']}/send",
                  {"body": as_drafted["text"]}, headers=JSON)
    assert r.status_code == 409 and r.get_json()["code"] == "ai_drafts_not_open" and len(sms_outbox) == 2
    page = ai_shop.client.get("/plugins/ai_drafts/").get_data(as_text=True)
    assert "50% (1 of 2 sent drafts)" in page
    # the tone profile: approved messages become the examples of the next draft
    from bayline_ai_drafts import service

    with in_tenant(app, ai_shop.shop.id):
        assert edited["text"] + " See you soon." in service.examples()


def test_another_shops_draft_never_shows_in_the_composer(app, ai_shop, fact_claim, make_shop, make_user,
                                                         enable_plugin, client_for, post_form):
    claim = fact_claim(ai_shop.shop)
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    other = make_shop(name="Other Body Shop")
    enable_plugin(other, "ai_drafts")
    owner = make_user(other, email="owner-other@example.com")
    other_claim = fact_claim(other)
    page = client_for(owner).get(f"/console/claims/{other_claim.id}?ai_draft={r.get_json()['id']}")
    assert r.get_json()["text"] not in page.get_data(as_text=True)
    assert 'id="ai-draft-send"' not in page.get_data(as_text=True)


def test_check_endpoint_lists_models_and_names_the_missing_one(app, ai_shop, standin, use_endpoint, set_setting):
    from bayline.testing.forms import csrf_token

    use_endpoint(ai_shop.shop)
    token = csrf_token(ai_shop.client, "/plugins/ai_drafts/")
    r = ai_shop.client.post("/plugins/ai_drafts/check-endpoint", data={"csrf_token": token})
    assert r.status_code == 200 and "local-small" in r.get_data(as_text=True)
    set_setting(ai_shop.shop, "ai_drafts.model_email_reply", "missing-model")
    r = ai_shop.client.post("/plugins/ai_drafts/check-endpoint", data={"csrf_token": token})
    assert r.status_code == 422 and "email_reply: missing-model" in r.get_data(as_text=True)


def test_adjuster_update_is_drafted_from_adjuster_facts_and_sent_by_staff(app, ai_shop, fact_claim, post_form):
    from bayline_ai_drafts.models import AiDraft

    from bayline.plugin_api import OutboxItem

    claim = fact_claim(ai_shop.shop)
    page = ai_shop.client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert 'id="ai-adjuster-draft"' in page and "pat@insurer.example" in page
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft",
                  {"mode": "adjuster", "channel": "email"})
    assert r.status_code == 303 and r.headers["Location"].endswith("#panel-ai_drafts")
    draft_id = _draft_id(r)
    page = ai_shop.client.get(f"/console/claims/{claim.id}?ai_draft={draft_id}").get_data(as_text=True)
    assert 'id="ai-adjuster-send"' in page and 'data-one-click="yes"' in page
    assert 'id="ai-draft-send"' not in page  # an adjuster draft never fills the customer composer
    with in_tenant(app, ai_shop.shop.id) as session:
        draft = session.get(AiDraft, draft_id)
        assert draft.mode == "adjuster" and draft.channel == "email" and draft.unsupported == []
        for fact in ("Hello Pat Lee,", "LM-8812345", claim.number, "Tuesday, June 9", "Current stage: Pictures."):
            assert fact in draft.draft_text, draft.draft_text
        item = session.get(OutboxItem, draft.outbox_item_id)
        assert (item.state, item.recipient, item.channel) == ("draft", "pat@insurer.example", "email")
        text = draft.draft_text
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{draft_id}/send", {"body": text})
    assert r.status_code == 303
    with in_tenant(app, ai_shop.shop.id) as session:
        draft = session.get(AiDraft, draft_id)
        item = session.get(OutboxItem, draft.outbox_item_id)
        assert draft.state == "sent" and item.state != "draft" and item.queued_by_user_id == ai_shop.owner.id
