"""Issue 15 acceptance in a real browser: the front desk opens a claim and prints the check-in set; the
work order's QR (rendered from the PDF at 300 dpi and decoded) opens the portal on a phone, where the
customer verifies with the bare RO digits; staff revoke all links and the open phone page shows
"This link isn't working" without a reload. Screenshots of the three documents go to test-artifacts/."""
from __future__ import annotations

import pypdfium2
import pytest
import zxingcpp

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_phone_scans_the_work_order_qr_and_revoke_reaches_the_open_page(app, live_server, phone, desktop, artifacts,
                                                                        db_backend, make_shop, make_user):
    shop = make_shop(name="Harbor Collision", phone="+16175550142", address_line1="120 Harbor St")
    owner = make_user(shop, email=f"print-{db_backend}@example.com")
    staff = desktop.new_page()
    log_in(staff, live_server, owner.email)
    staff.goto(f"{live_server}/console/claims/new")
    for name, value in {"number": "RO-24204", "customer_first_name": "Dana", "customer_last_name": "Reyes",
                        "vehicle_year": "2021", "vehicle_make": "Subaru", "vehicle_model": "Outback",
                        "vehicle_color": "Blue", "insurer": "Acme Mutual", "insurer_claim_number": "AC-99812",
                        "adjuster_name": "Pat Lee"}.items():
        staff.fill(f"[name={name}]", value)
    staff.click("button:has-text('Open claim')")
    staff.wait_for_selector("#new-link")  # the staff copy, shown once, with Copy and Print check-in set
    assert staff.input_value("#new-link").startswith("http://localhost/c/")
    assert staff.locator("button[data-copy]").count() == 1
    claim_url = staff.locator("form[action$='/print-set']").get_attribute("action")
    token = staff.locator("input[name=csrf_token]").first.input_value()
    pdf = staff.request.post(f"{live_server}{claim_url}", form={"csrf_token": token})
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(pdf.body())
    assert len(document) == 3
    urls = []
    for index, name in enumerate(("work-order", "hang-tag", "receipt")):
        image = document[index].render(scale=300 / 72).to_pil()
        image.save(artifacts / f"printed-{name}-{db_backend}.png")
        [found] = zxingcpp.read_barcodes(image)
        urls.append(found.text)
    assert len(set(urls)) == 3  # one link per document

    portal = phone.new_page()
    portal.goto(urls[0].replace("http://localhost", live_server))
    portal.fill("#last_name", "reyes")
    portal.fill("#claim_number", "24204")  # the bare digits from the paper
    portal.click("button:has-text('Show my repair')")
    portal.wait_for_url(f"{live_server}/c/s/")
    portal.wait_for_selector("body[data-live=connected]")
    portal.evaluate("window.__sameDocument = true")
    portal.screenshot(path=str(artifacts / f"printed-qr-portal-phone-{db_backend}.png"), full_page=True)

    staff.goto(f"{live_server}{claim_url.rsplit('/', 1)[0]}")
    staff.click("button:has-text('Revoke all links')")
    staff.wait_for_selector("text=Every customer link of this claim was revoked")
    portal.wait_for_selector("h1:has-text(\"This link isn't working\")")
    assert portal.evaluate("window.__sameDocument === true")  # no reload: the live channel told it
    assert portal.get_attribute("body", "data-live") == "ended"
    portal.screenshot(path=str(artifacts / f"printed-revoked-phone-{db_backend}.png"), full_page=True)
