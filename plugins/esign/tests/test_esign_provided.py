"""Documents another plugin provides through the core hook ``request_signature``: a package of that one
document for the claim's customer, never offered to staff as a template, and ``document.signed``
carrying the asker's ``source`` and ``reference`` back."""
from __future__ import annotations

from bayline.plugin_api import SignatureDocument, commit, for_shop, signatures


def test_provided_document_is_signed_and_reported_back(h, app, make_shop, make_claim, api_client, phone):
    shop = make_shop(plan="starter")
    claim = make_claim(shop, customer_first_name="Dana", customer_last_name="Reyes")
    with app.test_request_context(), for_shop(shop.id):
        assert signatures.available()
        from bayline.plugin_api import (
            Claim,
            claims,  # noqa: F401  (the request's claim, in the shop's tenant)
            get_session,
        )

        c = get_session().get(Claim, claim.id)
        req = signatures.request(c, SignatureDocument(source="widget", reference="thing:7", title="Widget approval",
                                                      body="I approve the widget."))
        commit()
    assert req.provider == "esign" and req.url.startswith("/c/s/esign/documents/")
    staff = api_client(shop)
    pkg = staff.get(f"/plugins/esign/packages/{req.package_id}", headers=h.JSON).get_json()
    assert pkg["title"] == "Widget approval" and pkg["signers"][0]["name"] == "Dana Reyes"
    templates = staff.get("/plugins/esign/templates", headers=h.JSON).get_json()
    assert not [t for t in templates if t["key"].startswith("provided:")]  # never offered to staff

    customer = phone(claim)
    doc_id = pkg["documents"][0]["id"]
    assert "I approve the widget." in customer.get(f"/c/s/esign/documents/{doc_id}",
                                                    headers={"Accept": "text/html"}).get_data(as_text=True)
    assert h.consent(customer, pkg["id"], doc_id).status_code == 200
    events = []
    from bayline import events as core_events

    original = core_events.emit

    def spy(type_, tenant_id, payload, *a, **k):
        events.append((type_, payload))
        return original(type_, tenant_id, payload, *a, **k)

    import bayline_esign.service as esign_service

    esign_service.emit = spy
    try:
        assert h.sign(customer, doc_id, method="typed", typed_name="Dana Reyes").status_code == 200
    finally:
        esign_service.emit = original
    signed = [p for t, p in events if t == "document.signed"]
    assert signed and signed[0]["source"] == "widget" and signed[0]["reference"] == "thing:7"


def test_without_an_active_signing_plugin_the_request_is_refused(app, make_shop, make_claim):
    import pytest

    from bayline.plugin_api import Claim, Refused, get_session
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    shop = make_shop(plan="starter")
    claim = make_claim(shop)
    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "esign", False)
        session.commit()
    with app.test_request_context(), for_shop(shop.id):
        assert not signatures.available()
        with pytest.raises(Refused) as exc:
            signatures.request(get_session().get(Claim, claim.id),
                               SignatureDocument(source="widget", reference="x", title="T", body="B"))
        assert exc.value.code == "signature_unavailable"
