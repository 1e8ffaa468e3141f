"""Issue 8 acceptance in a real browser: at phone size the customer opens the portal, consents to sign
electronically, draws a signature with a finger on the canvas and signs; the staff claim page then
shows the document as signed (and the sealed PDF validates with pyHanko)."""
from __future__ import annotations

import io

import pytest

from bayline.testing.forms import csrf_token

from .conftest import consent_and_draw, log_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _esign_installed(app):
    if "esign" not in app.extensions["bayline.plugins"].plugins:
        pytest.skip("the esign plugin is not installed")


def test_customer_signs_on_a_phone_and_staff_see_it_signed(app, live_server, phone, desktop, artifacts, db_backend,
                                                          make_shop, make_user, make_claim, api_client):
    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, email=f"esign-{db_backend}@example.com")
    claim = make_claim(shop, number="RO-5150", customer_first_name="Maria", customer_last_name="Lopez",
                       vehicle_year=2021, vehicle_make="Subaru", vehicle_model="Outback")
    staff_api = api_client(shop)
    r = staff_api.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["repair_authorization"]},
                       headers={"Accept": "application/json"})
    assert r.status_code == 201, r.get_json()
    package = r.get_json()

    page = phone.new_page()
    page.goto(f"{live_server}/c/{claim.portal_link.raw}")
    page.fill("#last_name", "lopez")
    page.fill("#claim_number", claim.number)
    page.click("button:has-text('Show my repair')")
    page.wait_for_url(f"{live_server}/c/s/")
    page.click(".esign-docs a")  # the "Documents to sign" card
    page.wait_for_selector("text=Repair authorization")

    # ESIGN consent before any signing control shows
    assert page.locator("canvas#pad").count() == 0
    consent_and_draw(page)
    if page.locator("input[name=initials]").count():
        page.fill("input[name=initials]", "ML")
    page.check("input[name=intent]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts / f"esign-phone-before-sign-{db_backend}.png"), full_page=True)
    page.click("#sign button[type=submit]")
    page.wait_for_selector("text=This request is completed")
    page.screenshot(path=str(artifacts / f"esign-phone-signed-{db_backend}.png"), full_page=True)

    staff = desktop.new_page()
    log_in(staff, live_server, owner.email)
    staff.goto(f"{live_server}/console/claims/{claim.id}")
    status = staff.locator(".esign-status").first
    assert status.inner_text() == "signed"

    # the drawn signature made it into a sealed PDF that pyHanko accepts
    doc_id = package["documents"][0]["id"]
    signed = staff_api.get(f"/plugins/esign/documents/{doc_id}/signed.pdf")
    assert signed.status_code == 200 and signed.data.startswith(b"%PDF")
    anyone = app.test_client()
    token = csrf_token(anyone, "/plugins/esign/verify")
    verdict = anyone.post("/plugins/esign/verify", headers={"Accept": "application/json"},
                          data={"file": (io.BytesIO(signed.data), "signed.pdf"), "csrf_token": token})
    assert verdict.status_code == 200 and verdict.get_json()["ok"] is True, verdict.get_json()
