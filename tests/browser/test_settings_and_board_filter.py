"""Issue 16 items 2 and 5 in a real browser at desktop (1366 x 900) and phone (390 x 844) size: the
settings page by area (choices in words, a wrong number answered next to its field with what was
typed, a message template previewed on a claim) and the board's estimator filter. Neither page
scrolls sideways at 390 px; axe-core reports no serious or critical violation. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import pytest

from bayline.claims.models import Claim
from bayline.events import commit
from bayline.testing.plugin import in_tenant

from .conftest import log_in
from .test_console_product import no_serious_axe_violations, no_sideways_scroll, sized  # noqa: F401

pytestmark = pytest.mark.browser


def test_settings_page_by_area_with_inline_errors_and_preview(app, live_server, sized, artifacts,  # noqa: F811
                                                              db_backend, make_shop, make_user, make_claim):
    size, context = sized
    shop = make_shop(name="Harbor Collision")
    owner = make_user(shop, email=f"settings-{size}-{db_backend}@example.com")
    make_claim(shop, number="RO-9100", customer_first_name="Priya", vehicle_year=2020, vehicle_make="Mazda",
               vehicle_model="CX-5")
    page = context.new_page()
    log_in(page, live_server, owner.email)
    page.goto(f"{live_server}/console/settings/")
    page.wait_for_selector("#settings-form")
    headings = page.locator(".settings-group legend h2").all_inner_texts()
    assert "Customer portal" in headings and "Printed documents" in headings and "Two-way SMS" in headings
    options = page.locator("#s-portal-verification option").all_inner_texts()
    assert "Last name, claim number and the shop PIN" in options and "name claim pin" not in options
    no_sideways_scroll(page, size)
    no_serious_axe_violations(page)
    page.screenshot(path=str(artifacts / f"settings-areas-{size}-{db_backend}.png"), full_page=True)

    # a wrong number: the error sits under the field, everything typed is still there
    page.fill("#s-portal-link_expiry_days", "soon")
    page.fill("#s-documents-authorization_terms", "Typed terms, not saved yet")
    page.click("#save-top")
    page.wait_for_selector("#s-portal-link_expiry_days-error")
    assert "whole number" in page.inner_text("#s-portal-link_expiry_days-error")
    assert page.input_value("#s-portal-link_expiry_days") == "soon"
    assert page.input_value("#s-documents-authorization_terms") == "Typed terms, not saved yet"
    assert page.get_attribute("#s-portal-link_expiry_days", "aria-invalid") == "true"
    no_sideways_scroll(page, size)
    no_serious_axe_violations(page)

    # a template preview fills the claim's values and saves nothing
    page.fill("#s-portal-link_expiry_days", "21")
    page.fill("#s-sms-stage_template", "Hi {first_name}, your {vehicle} is at {stage}.")
    page.click("button[name=preview][value='sms.stage_template']")
    page.wait_for_selector("#s-sms-stage_template-preview")
    assert page.inner_text("#s-sms-stage_template-preview .preview-text") == (
        "Hi Priya, your 2020 Mazda CX-5 is at Photos taken.")
    assert page.input_value("#s-portal-link_expiry_days") == "21"
    no_sideways_scroll(page, size)
    no_serious_axe_violations(page)
    page.screenshot(path=str(artifacts / f"settings-preview-{size}-{db_backend}.png"), full_page=True)
    page.click("#save-top")
    page.wait_for_selector(".flash:has-text('Settings saved.')")
    assert page.input_value("#s-portal-link_expiry_days") == "21"
    assert "Hi {first_name}, your {vehicle}" in page.input_value("#s-sms-stage_template")
    features = page.locator("#features .feature strong").all_inner_texts()
    assert features and all(name for name in features)

    # the shop profile's holiday closures: a bad row answers inline, the typed label stays
    page.click("#profile-link")
    page.wait_for_selector("#closures")
    page.fill("#f-closures\\.0", "2026-12-25")
    page.fill("#closure_label_0", "Christmas")
    page.fill("#closure_label_1", "No date typed")
    page.click("button:has-text('Save profile')")
    page.wait_for_selector("#closure-1-error")
    assert page.input_value("#closure_label_1") == "No date typed"
    assert page.input_value("#closure_label_0") == "Christmas"
    no_sideways_scroll(page, size)
    no_serious_axe_violations(page)
    page.fill("#closure_label_1", "")
    page.click("button:has-text('Save profile')")
    page.wait_for_selector(".flash:has-text('Shop profile saved')")
    assert page.input_value("#f-closures\\.0") == "2026-12-25"
    page.screenshot(path=str(artifacts / f"profile-closures-{size}-{db_backend}.png"), full_page=True)


def test_board_filters_by_estimator(app, live_server, sized, artifacts, db_backend, make_shop,  # noqa: F811
                                    make_user, make_claim):
    size, context = sized
    shop = make_shop(name="Harbor Collision")
    owner = make_user(shop, email=f"board-{size}-{db_backend}@example.com")
    estimator = make_user(shop, "estimator")
    mine = make_claim(shop, number="RO-9200", insurer="Acme Mutual")
    make_claim(shop, number="RO-9201", insurer="Acme Mutual")
    with in_tenant(app, shop.id) as session:
        session.get(Claim, mine.id).estimator_id = estimator.id
        commit(session)
    page = context.new_page()
    log_in(page, live_server, owner.email)
    page.wait_for_selector("article.ticket:has-text('RO-9201')")
    assert f"Estimator: {estimator.name}" in page.inner_text(f"article.ticket[data-claim-id='{mine.id}']")
    page.select_option("#f-estimator", str(estimator.id))
    page.click(".board-filters button:has-text('Filter')")
    page.wait_for_selector("#board-summary:has-text('(filtered)')")
    assert page.locator("article.ticket").count() == 1
    assert page.locator("article.ticket:has-text('RO-9200')").count() == 1
    assert page.input_value("#f-estimator") == str(estimator.id)
    no_sideways_scroll(page, size)
    no_serious_axe_violations(page)
    page.screenshot(path=str(artifacts / f"board-estimator-{size}-{db_backend}.png"), full_page=True)
    page.select_option("#f-estimator", "none")
    page.click(".board-filters button:has-text('Filter')")
    page.wait_for_selector("article.ticket:has-text('RO-9201')")
    assert page.locator("article.ticket:has-text('RO-9200')").count() == 0
