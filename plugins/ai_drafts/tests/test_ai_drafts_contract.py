"""Contract tests with the real ``openai`` client against a local stand-in speaking Chat Completions:
the prompt carries the fact block and no hidden field; an invented "Friday 4 pm" blocks one-click
send and a correct draft does not; bad endpoints, unknown models, an endpoint down or too slow are
clear errors that lose nothing and send nothing."""
from __future__ import annotations

import json
import threading

from sqlalchemy import select

from bayline.testing.plugin import in_tenant

JSON = {"Accept": "application/json"}


def _draft(app, shop_id, draft_id):
    from bayline_ai_drafts.models import AiDraft

    with in_tenant(app, shop_id) as session:
        draft = session.get(AiDraft, draft_id)
        session.expunge(draft)
        return draft


def _outbox(app, shop_id):
    from bayline.plugin_api import OutboxItem

    with in_tenant(app, shop_id) as session:
        return [(i.state, i.body) for i in session.scalars(select(OutboxItem))]


def test_prompt_has_the_fact_block_and_no_hidden_fields(app, ai_shop, fact_claim, standin, use_endpoint, set_setting,
                                                        post_form):
    shop = ai_shop.shop
    use_endpoint(shop)
    set_setting(shop, "portal.show_insurer", False)  # the shop hides the insurer from customers
    claim = fact_claim(shop, incoming="When will my car be ready?")
    standin.replies = ["Hi Dana, your 2019 Honda Civic should be ready Tuesday, June 9. Thanks, Harbor Collision"]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [q["method"] for q in standin.requests] == ["GET", "POST"]  # the model list first, then the chat
    assert standin.requests[0]["path"] == "/v1/models"
    assert standin.requests[1]["auth"] == "Bearer sk-test-123"
    chat = standin.chats()[0]
    assert chat["model"] == "local-small" and chat["max_tokens"] == 300
    prompt = json.dumps(chat["messages"], ensure_ascii=False)
    for fact in ("Customer first name: Dana", "Vehicle: 2019 Honda Civic", "Tuesday, June 9", "2026-06-09",
                 f"Repair order (RO) number: {claim.number}", "Harbor Collision", "When will my car be ready?"):
        assert fact in prompt, fact
    for hidden in ("SECRET-NOTE", "Liberty", "LM-8812345", "1HGCM82633A004352", "4352", "Pat Lee",
                   "pat@insurer.example", "Dana Reyes", "+16175550100"):
        assert hidden not in prompt, hidden
    draft = _draft(app, shop.id, r.get_json()["id"])
    assert draft.provider == "openai_compatible" and draft.model == "local-small"
    assert "insurer" not in draft.fields_sent and "vin" not in draft.fields_sent
    assert r.get_json()["one_click_send"] is True and draft.unsupported == []


def test_adjuster_mode_masks_the_vin_unless_the_shop_opts_in(app, ai_shop, fact_claim, standin, use_endpoint,
                                                              set_setting):
    from bayline_ai_drafts import service

    from bayline.plugin_api import Claim, Shop

    shop = ai_shop.shop
    use_endpoint(shop)
    claim = fact_claim(shop)
    standin.replies = ["Hello Pat, the 2019 Honda Civic (claim LM-8812345) is at Photos taken."]
    with in_tenant(app, shop.id) as session:
        from flask import g

        from bayline.plugin_api import for_shop

        with app.test_request_context(), for_shop(session.get(Shop, shop.id)):
            g.principal = None
            current = session.get(Claim, claim.id)
            service.create(current, session.get(Shop, shop.id), None, mode="adjuster")
    prompt = json.dumps(standin.chats()[-1]["messages"])
    assert "Liberty Mutual" in prompt and "Pat Lee" in prompt and "SECRET-NOTE" not in prompt
    assert "1HGCM82633A004352" not in prompt and "4352" in prompt  # masked: the last four only
    set_setting(shop, "ai_drafts.full_context", True)
    with in_tenant(app, shop.id) as session:
        from bayline.plugin_api import for_shop

        with app.test_request_context(), for_shop(session.get(Shop, shop.id)):
            service.create(session.get(Claim, claim.id), session.get(Shop, shop.id), None, mode="adjuster")
    assert "1HGCM82633A004352" in json.dumps(standin.chats()[-1]["messages"])


def test_invented_friday_4pm_is_blocked_from_one_click_send(app, ai_shop, fact_claim, standin, use_endpoint,
                                                            sms_outbox, post_form):
    shop = ai_shop.shop
    use_endpoint(shop)
    claim = fact_claim(shop, incoming="Is my car ready?")
    standin.replies = ["Hi Dana! Your Civic will be ready Friday 4 pm, total $980. Thanks, Harbor Collision"]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"})
    assert r.status_code == 303 and "ai_draft=" in r.headers["Location"]
    draft_id = int(r.headers["Location"].split("ai_draft=")[1].split("#")[0])
    draft = _draft(app, shop.id, draft_id)
    assert {(u["kind"], u["text"]) for u in draft.unsupported} == {("weekday", "Friday"), ("time", "4 pm"),
                                                                   ("amount", "$980")}
    page = ai_shop.client.get(f"/console/claims/{claim.id}?ai_draft={draft_id}").get_data(as_text=True)
    assert 'data-one-click="no"' in page and '<mark class="unsupported">Friday</mark>' in page
    assert 'id="composer-send"' not in page  # the core's Send is replaced while the draft is shown
    assert "Your Civic will be ready Friday 4 pm" in page  # the composer holds the draft
    # one click (the text as drafted, nothing confirmed): refused, nothing sent, the text kept
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{draft_id}/send", {"body": draft.draft_text})
    assert r.status_code == 303
    assert _outbox(app, shop.id) == [("draft", draft.draft_text)] and len(sms_outbox) == 0
    page = ai_shop.client.get(r.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "Check the highlighted details" in page and "Your Civic will be ready Friday 4 pm" in page
    # staff edit the invented details out: it goes
    fixed = "Hi Dana! Your Civic should be ready Tuesday, June 9. Thanks, Harbor Collision"
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{draft_id}/send", {"body": fixed})
    assert r.status_code == 303 and "ai_draft=" not in r.headers["Location"]
    assert len(sms_outbox) == 1 and sms_outbox[0].body == fixed
    sent = _draft(app, shop.id, draft_id)
    assert sent.state == "sent" and sent.final_text == fixed and sent.edit_distance > 0


def test_confirming_unsupported_details_sends_them(app, ai_shop, fact_claim, standin, use_endpoint, sms_outbox,
                                                   post_form):
    shop = ai_shop.shop
    use_endpoint(shop)
    claim = fact_claim(shop)
    standin.replies = ["Hi Dana, we can see you Friday 4 pm."]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert r.get_json()["one_click_send"] is False
    draft_id = r.get_json()["id"]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{draft_id}/send",
                  {"body": "Hi Dana, we can see you Friday 4 pm.", "confirm_facts": "1"})
    assert r.status_code == 303 and len(sms_outbox) == 1
    assert _draft(app, shop.id, draft_id).confirmed_by_user_id == ai_shop.owner.id


def test_a_correct_draft_sends_with_one_click(app, ai_shop, fact_claim, standin, use_endpoint, sms_outbox, post_form):
    shop = ai_shop.shop
    use_endpoint(shop)
    claim = fact_claim(shop)
    text = f"Hi Dana, your 2019 Honda Civic ({claim.number}) should be ready Tuesday, June 9. Call 617-555-0199."
    standin.replies = [text]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"})
    draft_id = int(r.headers["Location"].split("ai_draft=")[1].split("#")[0])
    page = ai_shop.client.get(f"/console/claims/{claim.id}?ai_draft={draft_id}").get_data(as_text=True)
    assert 'data-one-click="yes"' in page and "ai-draft-unsupported" not in page
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/drafts/{draft_id}/send", {"body": text})
    assert r.status_code == 303 and [m.body for m in sms_outbox] == [text]
    assert _draft(app, shop.id, draft_id).edit_distance == 0


def _failed(app, shop, client, claim, post_form, typed="my own words so far"):
    r = post_form(client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft",
                  {"channel": "sms", "body": typed})
    assert r.status_code == 303
    draft_id = int(r.headers["Location"].split("ai_draft=")[1].split("#")[0])
    page = client.get(f"/console/claims/{claim.id}?ai_draft={draft_id}").get_data(as_text=True)
    assert typed in page  # nothing lost
    assert _outbox(app, shop.id) == []  # nothing queued, nothing drafted in the outbox
    return _draft(app, shop.id, draft_id), page


def test_unknown_model_is_a_clear_error(app, ai_shop, fact_claim, standin, use_endpoint, post_form):
    use_endpoint(ai_shop.shop, model_sms_reply="gpt-nonexistent")
    claim = fact_claim(ai_shop.shop)
    draft, page = _failed(app, ai_shop.shop, ai_shop.client, claim, post_form)
    assert draft.state == "failed" and "no model 'gpt-nonexistent'" in draft.error and "local-small" in draft.error
    assert "gpt-nonexistent" in page and 'id="ai-draft-error"' in page
    assert standin.chats() == []  # validated against /models before any chat request
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert r.status_code == 422 and r.get_json()["code"] == "ai_drafts_unknown_model"


def test_endpoint_down_is_a_clear_error(app, ai_shop, fact_claim, use_endpoint, set_setting, post_form):
    import socket

    use_endpoint(ai_shop.shop)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    set_setting(ai_shop.shop, "ai_drafts.base_url", f"http://127.0.0.1:{port}/v1")
    claim = fact_claim(ai_shop.shop)
    draft, _ = _failed(app, ai_shop.shop, ai_shop.client, claim, post_form)
    assert "could not be reached" in draft.error
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert r.status_code == 502 and r.get_json()["code"] == "ai_drafts_endpoint_down"


def test_endpoint_timeout_is_a_clear_error(app, ai_shop, fact_claim, standin, use_endpoint, post_form):
    use_endpoint(ai_shop.shop, timeout_seconds=1)
    standin.hang = threading.Event()  # chat requests wait until the test ends: the client's timeout fires
    claim = fact_claim(ai_shop.shop)
    draft, _ = _failed(app, ai_shop.shop, ai_shop.client, claim, post_form)
    assert "did not answer in time" in draft.error


def test_endpoint_error_status_is_a_clear_error(app, ai_shop, fact_claim, standin, use_endpoint, post_form):
    use_endpoint(ai_shop.shop)
    standin.status = 500
    claim = fact_claim(ai_shop.shop)
    draft, _ = _failed(app, ai_shop.shop, ai_shop.client, claim, post_form)
    assert "(500)" in draft.error


def test_bad_base_url_is_refused_at_save_with_the_typed_value_kept(app, ai_shop, set_setting):
    from bayline.testing.forms import csrf_token

    client = ai_shop.client
    token = csrf_token(client, "/console/settings/")
    r = client.post("/console/settings/", data={"csrf_token": token, "ai_drafts.base_url": "ftp://nope",
                                               "shown": ["ai_drafts.base_url"]})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="s-ai_drafts-base_url-error"' in page and 'value="ftp://nope"' in page


def test_api_key_is_stored_sealed(app, ai_shop, use_endpoint):
    from bayline.tenants.models import ShopSetting

    use_endpoint(ai_shop.shop)
    with in_tenant(app, ai_shop.shop.id) as session:
        raw = session.scalar(select(ShopSetting.value).where(ShopSetting.key == "ai_drafts.api_key"))
        assert raw.startswith("sealed:v1:") and "sk-test-123" not in raw
        from bayline.plugin_api import shop_settings

        with app.test_request_context():
            assert shop_settings("ai_drafts", ai_shop.shop).get_str("api_key") == "sk-test-123"
    assert "sk-test-123" not in ai_shop.client.get("/console/settings/").get_data(as_text=True)


def test_no_recipient_is_a_clear_error_before_any_request(app, ai_shop, fact_claim, standin, use_endpoint, post_form):
    use_endpoint(ai_shop.shop)
    claim = fact_claim(ai_shop.shop, customer_email=None)
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft",
                  {"channel": "email", "body": "half a reply"})
    draft_id = int(r.headers["Location"].split("ai_draft=")[1].split("#")[0])
    page = ai_shop.client.get(f"/console/claims/{claim.id}?ai_draft={draft_id}").get_data(as_text=True)
    assert "There is no email address for the customer" in page and "half a reply" in page
    assert standin.requests == [] and _outbox(app, ai_shop.shop.id) == []


def test_tone_profile_reaches_the_prompt_and_long_texts_are_flagged(app, ai_shop, fact_claim, standin, use_endpoint,
                                                                     post_form):
    from bayline.plugin_api import Claim, commit, messages

    use_endpoint(ai_shop.shop, greeting="Hey", sign_off="Cheers, {shop_name} crew", formality="casual", emoji=True,
                 max_sms_segments=1)
    claim = fact_claim(ai_shop.shop)
    with in_tenant(app, ai_shop.shop.id) as session:  # a message staff wrote: the first tone example
        messages.send(session.get(Claim, claim.id), "Hey Dana! Quick update from the crew.", ai_shop.owner.id,
                      channel="portal")
        commit(session)
    standin.replies = ["Hey Dana, your 2019 Honda Civic is coming along. " * 6]
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"})
    system = standin.chats()[0]["messages"][0]["content"]
    assert 'Greeting: "Hey"' in system and 'Sign-off: "Cheers, Harbor Collision crew"' in system
    assert "emoji allowed" in system and "At most 150 characters" in system
    assert "> Hey Dana! Quick update from the crew." in system
    page = ai_shop.client.get(r.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert 'id="ai-draft-too-long"' in page and "the shop's limit is 1" in page


def test_a_hidden_stage_never_reaches_a_customer_prompt(app, ai_shop, fact_claim, standin, use_endpoint, post_form):
    from bayline.plugin_api import Claim, Stage, claims, commit

    use_endpoint(ai_shop.shop)
    claim = fact_claim(ai_shop.shop)
    with in_tenant(app, ai_shop.shop.id) as session:
        hidden = Stage(position=99, name="Supplement sent ZZHIDDEN", customer_label="Waiting ZZHIDDEN", hidden=True)
        session.add(hidden)
        session.flush()
        claims.change_stage(session.get(Claim, claim.id), hidden)
        commit(session)
    standin.replies = ["Hi Dana, we are on it."]
    post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"})
    assert "ZZHIDDEN" not in json.dumps(standin.chats()[0]["messages"])
    use_endpoint(ai_shop.shop, provider="template")
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers=JSON)
    assert "ZZHIDDEN" not in r.get_json()["text"] and "the work is under way" in r.get_json()["text"]
