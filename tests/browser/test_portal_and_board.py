"""Issue 5 acceptance in a real browser: the customer verifies on a phone and sees the timeline; staff
drag the card on the board; the open portal shows the new stage without a reload (SSE); a message
typed on the portal reaches the console and the staff reply appears on the portal without a reload."""
from __future__ import annotations

import pytest

from bayline.claims import service
from bayline.claims.models import Claim
from bayline.claims.stages import active_stages
from bayline.events import commit
from bayline.testing.plugin import in_tenant

from .conftest import log_in

pytestmark = pytest.mark.browser


def _stages(app, shop):
    with in_tenant(app, shop.id):
        return [(s.id, s.customer_label or s.name) for s in active_stages()]


def _open_portal(portal, base, claim, last_name):
    portal.goto(f"{base}/c/{claim.portal_link.raw}")
    portal.fill("#last_name", last_name)
    portal.fill("#claim_number", claim.number.lower())
    portal.click("button:has-text('Show my repair')")
    portal.wait_for_url(f"{base}/c/s/")
    portal.wait_for_selector("body[data-live=connected]")  # the EventSource is open
    portal.evaluate("window.__sameDocument = true")  # gone if the page reloads


def test_phone_portal_follows_a_card_dragged_on_the_board(app, live_server, phone, desktop, artifacts, db_backend,
                                                          make_shop, make_user, make_claim):
    shop = make_shop(name="Harbor Collision", phone="+16175550142", address_line1="120 Harbor St",
                     hours=[{"days": "Mon–Fri", "open": "07:30", "close": "17:30"}])
    owner = make_user(shop, email=f"board-{db_backend}@example.com")
    claim = make_claim(shop, number="RO-24100", customer_last_name="O'Neill", vehicle_year=2021,
                       vehicle_make="Toyota", vehicle_model="Camry", vehicle_color="Silver", insurer="GEICO")
    stages = _stages(app, shop)
    for n, (last, make) in enumerate([("Carter", "Honda"), ("Khan", "Ford"), ("Nguyen", "Subaru")]):
        make_claim(shop, number=f"RO-2410{n + 1}", customer_last_name=last, vehicle_make=make)

    portal = phone.new_page()
    _open_portal(portal, live_server, claim, "oneill")
    current = portal.locator(".timeline .step.current .label")
    assert current.inner_text() == stages[0][1]
    assert portal.locator(".timeline .step").count() == len(stages)
    assert "Toyota Camry" in portal.inner_text(".facts")
    # one column at 360 px: nothing wider than the screen, nothing to zoom
    assert portal.evaluate("document.documentElement.scrollWidth") <= 360
    portal.screenshot(path=str(artifacts / f"portal-phone-{db_backend}.png"), full_page=True)

    board = desktop.new_page()
    log_in(board, live_server, owner.email)
    card = board.locator(f"article.ticket[data-claim-id='{claim.id}']")
    target = board.locator(f"section.column[data-stage-id='{stages[1][0]}']")
    card.drag_to(target)
    board.wait_for_selector(f"section.column[data-stage-id='{stages[1][0]}'] "
                            f"article.ticket[data-claim-id='{claim.id}']")
    board.wait_for_selector("#board-status:has-text('Moved to')")
    with in_tenant(app, shop.id) as session:
        assert session.get(Claim, claim.id).stage_id == stages[1][0]
    # the keyboard path still works: the card's → button moves it on again
    board.click(f"button[aria-label='Move {claim.number} to {_name(app, shop, stages[2][0])}']")
    board.wait_for_selector(f"section.column[data-stage-id='{stages[2][0]}'] "
                            f"article.ticket[data-claim-id='{claim.id}']")
    board.screenshot(path=str(artifacts / f"board-desktop-{db_backend}.png"), full_page=True)
    # a move made elsewhere (the API, another advisor) shows on the open board without a reload
    board.evaluate("window.__sameDocument = true")
    other = make_claim(shop, number="RO-24199", customer_last_name="Lopez")
    board.wait_for_selector(f"article.ticket[data-claim-id='{other.id}']")
    with in_tenant(app, shop.id) as session:
        service.change_stage(session.get(Claim, other.id), service.get_stage(stages[3][0]))
        commit(session)
    board.wait_for_selector(f"section.column[data-stage-id='{stages[3][0]}'] "
                            f"article.ticket[data-claim-id='{other.id}']")
    assert board.evaluate("window.__sameDocument === true")

    # the open phone page moved along, without a reload
    portal.wait_for_function(f"document.querySelector('.timeline .step.current .label').textContent === "
                             f"{stages[2][1]!r}")
    assert portal.evaluate("window.__sameDocument === true")
    assert portal.locator(".timeline .step.past").count() == 2
    portal.screenshot(path=str(artifacts / f"portal-phone-moved-{db_backend}.png"), full_page=True)


def _name(app, shop, stage_id):
    from bayline.claims.models import Stage

    with in_tenant(app, shop.id) as session:
        return session.get(Stage, stage_id).name


def test_portal_message_reaches_the_console_and_the_reply_comes_back_live(app, live_server, phone, desktop,
                                                                           db_backend, make_shop, make_user,
                                                                           make_claim):
    shop = make_shop(name="Harbor Collision", phone="+16175550142")
    owner = make_user(shop, email=f"thread-{db_backend}@example.com")
    claim = make_claim(shop, customer_last_name="Reyes")

    console = desktop.new_page()  # the staff claim page is open before the customer writes
    log_in(console, live_server, owner.email)
    console.goto(f"{live_server}/console/claims/{claim.id}")
    console.wait_for_selector("body[data-live=connected]")
    console.evaluate("window.__sameDocument = true")

    portal = phone.new_page()
    _open_portal(portal, live_server, claim, "Reyes")
    portal.fill("#msg-body", "Is the bumper in yet?")
    portal.click("#messages button:has-text('Send')")
    portal.wait_for_selector("#thread li.msg.mine:has-text('Is the bumper in yet?')")
    portal.wait_for_selector("body[data-live=connected]")
    portal.evaluate("window.__sameDocument = true")

    console.wait_for_selector("#messages li.msg.in:has-text('Is the bumper in yet?')")  # live, no reload
    assert console.evaluate("window.__sameDocument === true")
    console.fill("#reply-body", "Yes, it arrived this morning.")
    console.click("#messages button:has-text('Send')")
    console.wait_for_selector("#messages li.msg.out:has-text('Yes, it arrived this morning.')")

    portal.wait_for_selector("#thread li.msg.shop:has-text('Yes, it arrived this morning.')")
    assert portal.evaluate("window.__sameDocument === true")
