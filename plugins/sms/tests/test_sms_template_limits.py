"""Issue 17 M6 and L8 (SMS part): template placeholders are ``{name}`` only, texts are size-capped.

Before: ``POST /plugins/sms/preview {"template": "{first_name:x>10000000}"}`` answered a 10 MB text in
1.8 s (format specs were evaluated; linear in the width); saved templates accepted the same; a
non-number ``claim_id`` was a 500.
"""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("template", ["{first_name:x>10000000}", "{first_name!r}", "{shop_name:>{eta}}",
                                      "{first_name.__class__}", "{0}", "{", "x" * 1_601])
def test_preview_refuses_format_specs(app, sms_shop, make_claim, template) -> None:
    claim = make_claim(sms_shop.shop)
    for body in ({"template": template, "claim_id": claim.id}, {"template": template}):
        resp = sms_shop.api.post("/plugins/sms/preview", json=body)
        assert resp.status_code == 422 and resp.get_json()["code"] == "validation_error", (body, resp.get_json())


def test_saved_templates_refuse_format_specs(app, sms_shop) -> None:
    resp = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.template_received": "Hi {first_name:x>99999}"})
    assert resp.status_code == 422, resp.get_json()
    ok = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.template_received": "Hi {first_name}"})
    assert ok.status_code == 200, ok.get_json()


@pytest.mark.parametrize("claim_id", ["abc", [1], 2**40, -1])
def test_preview_claim_id_is_checked(app, sms_shop, claim_id) -> None:
    resp = sms_shop.api.post("/plugins/sms/preview", json={"template": "Hi {first_name}", "claim_id": claim_id})
    assert resp.status_code in (404, 422), resp.get_json()


def test_plain_placeholders_still_render(app, sms_shop, make_claim) -> None:
    from bayline_sms.templates import render

    assert render("Hi {first_name}, {unknown} stays", {"first_name": "Dana"}) == "Hi Dana, {unknown} stays"
    assert render("{{literal}} {first_name}", {"first_name": "D"}) == "{literal} D"


@pytest.mark.parametrize("shape", [{"to": "+16175550111"}, {"to": ["+16175550111"]}, {"from": "+16175550100"},
                                   {"media": "x"}])
def test_signed_webhook_with_wrong_shapes_is_400(app, sms_shop, telnyx_api, shape) -> None:
    """L8: ``payload.to`` as a string in a correctly signed webhook was a 500."""
    import json

    from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook

    body = json.loads(telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "hello"))
    body["data"]["payload"].update(shape)
    raw = json.dumps(body)
    resp = post_webhook(app, raw, telnyx_api.sign(raw))
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"
