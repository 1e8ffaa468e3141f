"""Tenant isolation, plan gating, permissions and template safety."""
from __future__ import annotations

from typing import Any


def test_other_shop_staff_get_404(h, app, shop_with_package, phone, make_shop, make_user, make_claim,
                                  client_for, api_client) -> None:
    shop_a, claim_a, _staff_a, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim_a)
    h.consent(customer, pkg["id"], doc["id"])
    assert h.sign(customer, doc["id"], initials="DR").status_code == 200

    shop_b = make_shop(plan="starter")
    user_b = make_user(shop_b, role="owner")
    claim_b = make_claim(shop_b)
    browser_b = client_for(user_b, shop_b)
    api_b = api_client(shop_b)
    for client in (browser_b, api_b):
        for url in (f"/plugins/esign/packages/{pkg['id']}",
                    f"/plugins/esign/documents/{doc['id']}/signed.pdf",
                    f"/plugins/esign/documents/{doc['id']}/original.pdf",
                    f"/plugins/esign/claims/{claim_a.id}/packages"):
            resp = client.get(url, headers=h.JSON)
            assert resp.status_code == 404, (url, resp.status_code)
    resp = api_b.post(f"/plugins/esign/packages/{pkg['id']}/cancel", json={}, headers=h.JSON)
    assert resp.status_code == 404
    resp = api_b.post(f"/plugins/esign/claims/{claim_a.id}/packages", json={"templates": ["pickup_signoff"]},
                      headers=h.JSON)
    assert resp.status_code == 404

    # A customer of shop B's claim cannot open shop A's documents either.
    other = phone(claim_b)
    assert other.get(f"/c/s/esign/documents/{doc['id']}", headers=h.JSON).status_code == 404
    assert other.get(f"/c/s/esign/documents/{doc['id']}/signed.pdf").status_code == 404
    assert other.get("/c/s/esign/", headers=h.JSON).get_json() == []

    # And a customer of another claim of the same shop neither.
    claim_a2 = make_claim(shop_a)
    sibling = phone(claim_a2)
    assert sibling.get(f"/c/s/esign/documents/{doc['id']}", headers=h.JSON).status_code == 404


def test_feature_switched_off_is_403_for_staff_and_404_on_portal(h, app, shop_with_package, phone,
                                                                 make_user, client_for) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = shop_with_package()
    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "esign", False)
        commit(session)
    resp = staff.get(f"/plugins/esign/claims/{claim.id}/packages", headers=h.JSON)
    assert resp.status_code == 403 and resp.get_json()["code"] == "feature_not_in_plan"
    browser = client_for(make_user(shop), shop)
    resp = browser.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON)
    assert resp.status_code == 403 and resp.get_json()["code"] == "feature_not_in_plan"
    customer = phone(claim)
    assert customer.get(f"/c/s/esign/documents/{pkg['documents'][0]['id']}").status_code == 404
    # The public verification page belongs to no shop and stays up.
    assert app.test_client().get("/plugins/esign/verify").status_code == 200


def test_permissions_and_anonymous(h, app, shop_with_package, make_user, client_for, api_client) -> None:
    shop, _claim, _staff, pkg = shop_with_package()
    assert app.test_client().get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).status_code == 401
    reader = api_client(shop, scopes=("read",))
    assert reader.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).status_code == 200
    resp = reader.post(f"/plugins/esign/packages/{pkg['id']}/cancel", json={}, headers=h.JSON)
    assert resp.status_code == 403 and resp.get_json()["code"] == "permission_denied"
    # esign.send is declared for write-scope keys (Permission(..., scopes=("write",))), templates are not
    writer = api_client(shop, scopes=("write",))
    resp = writer.post("/plugins/esign/templates", json={"key": "repair_authorization", "title": "T",
                                                         "body": "x", "requires_initials": False}, headers=h.JSON)
    assert resp.status_code == 403 and resp.get_json()["code"] == "permission_denied"
    resp = writer.post(f"/plugins/esign/packages/{pkg['id']}/cancel", json={}, headers=h.JSON)
    assert resp.status_code == 200, resp.get_json()
    # The customer portal path without a portal session is a plain 404.
    assert app.test_client().get("/c/s/esign/", headers=h.JSON).status_code == 404


def test_templates_versioned_and_sandboxed(h, app, shop_with_package) -> None:
    _shop, claim, staff, pkg = shop_with_package()
    templates = staff.get("/plugins/esign/templates", headers=h.JSON).get_json()
    assert {t["key"] for t in templates} >= {"repair_authorization", "betterment_ack", "supplement_approval",
                                             "pickup_signoff", "terms_consent"}

    def save(body: str, key: str = "repair_authorization") -> Any:
        return staff.post("/plugins/esign/templates", json={"key": key, "title": "Repair authorization",
                                                             "body": body, "requires_initials": False},
                          headers=h.JSON)

    resp = save("I, {{ customer_name }}, authorize repair order {{ claim_number }} (v2).")
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    for evil in ("{{ ''.__class__.__mro__[1].__subclasses__() }}",
                 "{{ customer_name.__class__.__init__.__globals__ }}",
                 "{{ cycler.__init__.__globals__.os }}",
                 "{{ no_such_field }}",
                 "{% if %}"):
        bad = save(evil)
        assert bad.status_code == 422 and bad.get_json()["code"] == "template_error", evil

    # The old package keeps version 1; a new one is made from version 2.
    old = staff.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).get_json()
    assert old["documents"][0]["template_version"] == 1
    new = staff.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["repair_authorization"]},
                     headers=h.JSON).get_json()
    assert new["documents"][0]["template_version"] == 2
    custom = save("Loaner car for {{ customer_first_name }}: return it full.", key="loaner_agreement")
    assert custom.status_code == 201
    resp = staff.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["nope"]}, headers=h.JSON)
    assert resp.status_code == 422


def test_staff_claim_panel_and_portal_card(h, app, shop_with_package, phone, make_user, client_for) -> None:
    shop, claim, _staff, pkg = shop_with_package()
    browser = client_for(make_user(shop), shop)
    page = browser.get(f"/console/claims/{claim.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "E-signature" in html and "Repair authorization" in html and "sent" in html
    from bayline_esign import portal_sections

    from bayline.claims.models import Claim
    from bayline.plugins.types import Viewer
    from bayline.testing.plugin import in_tenant

    with app.test_request_context(), in_tenant(app, shop.id) as session:
        sections = portal_sections(session.get(Claim, claim.id), Viewer(claim_id=claim.id))
    assert sections and pkg["documents"][0]["id"] in sections[0].html


def test_conforms(app) -> None:
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "esign") == []
