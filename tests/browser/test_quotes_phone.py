"""Issue 21 acceptance in a real browser, at phone size: the customer sees supplement 2's differences
and their own amount, approves one line and declines another with a reason, and the staff claim page
shows it live; staff record a payment and the portal balance updates live; the customer pays the
rest through Stripe Checkout (the official library against the local stand-in) and the signed
webhook marks their part paid."""
from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from .conftest import log_in

pytestmark = pytest.mark.browser
stand_in = pytest.importorskip("bayline_quotes.testing.stripe_standin", reason="the quotes plugin is not installed")
FIXTURES = Path(__file__).resolve().parents[2] / "plugins" / "quotes" / "tests" / "fixtures"


@pytest.fixture
def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stripe_api() -> Iterator[Any]:
    server = stand_in.StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(port: int, stripe_api: Any) -> dict[str, Any]:
    # the success URL Stripe sends the customer back to is built from the public URL: this server's
    return {"public_url": f"http://127.0.0.1:{port}",
            "BAYLINE_PLUGIN_QUOTES_STRIPE_SECRET_KEY": stand_in.API_KEY,
            "BAYLINE_PLUGIN_QUOTES_STRIPE_WEBHOOK_SECRET": stand_in.WEBHOOK_SECRET,
            "BAYLINE_PLUGIN_QUOTES_STRIPE_API_BASE": stripe_api.base_url}


@pytest.fixture
def quotes_server(app: Any, port: int) -> Iterator[str]:
    app.config["BAYLINE_SSE_HEARTBEAT"] = 1
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="quotes-browser-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


def test_customer_approves_on_a_phone_and_pays_their_part(app, quotes_server, stripe_api, phone, desktop, artifacts,
                                                         db_backend, make_shop, make_user, make_claim, api_client,
                                                         set_setting):
    base = quotes_server
    stripe_api.webhook_url = f"{base}/plugins/quotes/webhooks/stripe"
    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, email=f"quotes-{db_backend}@example.com")
    claim = make_claim(shop, number="RO-4471", customer_first_name="Dana", customer_last_name="Reyes",
                       vin="1HGCM82633A004352")
    set_setting(shop, "quotes.tax_parts", "10")
    set_setting(shop, "quotes.online_payment", True)
    set_setting(shop, "quotes.payment_summary", True)
    staff_api = api_client(shop)
    for name in ("bms_original.xml", "bms_supplement1.xml", "bms_supplement2.xml"):
        content = base64.b64encode((FIXTURES / name).read_bytes()).decode()
        r = staff_api.post("/api/v1/plugins/quotes/imports",
                           json={"format": "bms", "encoding": "base64", "content": content})
        assert r.status_code == 201, r.get_json()
    s2 = r.get_json()["version"]
    wheel = next(ln["id"] for ln in s2["lines"] if ln["description"].startswith("Wheel lock"))
    ding = next(ln["id"] for ln in s2["lines"] if ln["description"].startswith("Repair door ding"))

    console = desktop.new_page()
    log_in(console, base, owner.email)
    console.goto(f"{base}/console/claims/{claim.id}")
    console.wait_for_selector("body[data-live=connected]")
    console.evaluate("window.__sameDocument = true")
    version_box = f".quotes-version[data-version='{s2['id']}']"
    assert console.inner_text(f"{version_box} .quotes-approval") == "pending"

    portal = phone.new_page()
    portal.goto(f"{base}/c/{claim.portal_link.raw}")
    portal.fill("#last_name", "reyes")
    portal.fill("#claim_number", claim.number.lower())
    portal.click("button:has-text('Show my repair')")
    portal.wait_for_url(f"{base}/c/s/")
    card = portal.locator("#quotes")
    assert "Supplement 2: +$279.80 (insurer +$192.50, you +$87.30)" in card.inner_text()
    assert card.locator(".quotes-your-amount").inner_text() == "$647.30"
    portal.click("#quotes a:has-text('Review and approve')")
    portal.wait_for_selector("h1:has-text('Supplement 2')")
    changes = portal.locator(".quotes-diff li").all_inner_texts()
    assert "Added: Wheel lock set (customer upgrade) (+$32.30)" in changes
    assert "Added: Tire LF (+$220.00)" not in changes  # an insurer line: not the customer's to see
    assert portal.locator(".quotes-line").count() == 2  # only the customer-pay lines
    assert portal.evaluate("document.documentElement.scrollWidth") <= 360
    portal.screenshot(path=str(artifacts / f"quotes-phone-review-{db_backend}.png"), full_page=True)

    portal.check(f"input[name=lines][value='{wheel}']")
    portal.select_option("select[name=reason]", "price")
    portal.fill("textarea[name=reason_text]", "Will do the ding elsewhere")
    portal.click("button[value=approve_selected]")
    portal.wait_for_selector(f"li[data-line='{wheel}'] .quotes-badge:has-text('Approved')")
    assert portal.locator(f"li[data-line='{ding}'] .quotes-badge").inner_text() == "Declined"
    assert portal.locator(".quotes-your-amount").first.inner_text() == "$587.30"  # the declined 60.00 is out
    portal.screenshot(path=str(artifacts / f"quotes-phone-decided-{db_backend}.png"), full_page=True)

    # the staff page follows without a reload
    console.wait_for_function(
        f"document.querySelector(\"{version_box} .quotes-approval\").textContent === 'partly'")
    assert console.evaluate("window.__sameDocument === true")
    history = console.inner_text(f"{version_box} .quotes-history")
    assert "Dana Reyes (customer) approved 1 line(s)" in history and "reason: The price" in history
    assert "Will do the ding elsewhere" in history

    # staff record the deductible; the open portal page shows the new balance live
    portal.goto(f"{base}/c/s/")
    portal.wait_for_selector("body[data-live=connected]")
    portal.evaluate("window.__sameDocument = true")
    assert portal.inner_text("#quotes .quotes-balance") == "$587.30"
    console.select_option(".quotes-pay-form select[name=payer]", "deductible")
    console.select_option(".quotes-pay-form select[name=method]", "check")
    console.fill(".quotes-pay-form input[name=amount]", "500.00")
    console.fill(".quotes-pay-form input[name=reference]", "chk 1042")
    console.click(".quotes-pay-form button[type=submit]")
    console.wait_for_selector(".quotes-balance:has-text('$87.30')")
    portal.wait_for_selector("#quotes .quotes-balance:has-text('$87.30')")
    assert portal.evaluate("window.__sameDocument === true")

    # the customer pays the rest online: Checkout on the stand-in, the signed webhook records it
    portal.click("button.quotes-pay")
    portal.click("#to-checkout")
    portal.wait_for_selector("h1:has-text('Pay 87.30 USD')")
    portal.click("#pay")
    portal.wait_for_url(f"{base}/c/s/quotes/paid")
    assert stripe_api.delivered == [200]
    assert portal.inner_text(".quotes-balance") == "$0.00"
    portal.screenshot(path=str(artifacts / f"quotes-phone-paid-{db_backend}.png"), full_page=True)
    summary = staff_api.get(f"/api/v1/plugins/quotes/claims/{claim.id}/payment-summary").get_json()
    assert (summary["paid"], summary["balance"]) == ("587.30", "0.00")
    console.wait_for_selector(".quotes-balance:has-text('$0.00')")
