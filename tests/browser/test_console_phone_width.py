"""Issue 16 acceptance: no console page scrolls sideways at 390 px. Every GET route of the staff side
(``/console/...`` and the plugins' staff pages under ``/plugins/...``) is taken from the app's URL map,
not from a hand list, so a new page is checked the day it is added. Each one that answers an HTML
page is opened at phone size and measured (``document.documentElement.scrollWidth``)."""
from __future__ import annotations

from typing import Any

import pytest

from .conftest import WAIT_MS, log_in

pytestmark = pytest.mark.browser

SKIP_SUFFIXES = (".pdf", ".csv", ".ics", ".png", ".jpg", "/events", "/stream")


def staff_page_paths(app: Any, claim_id: int) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith(("/console", "/plugins/")):
            continue
        if rule.rule.endswith(SKIP_SUFFIXES) or "webhook" in rule.rule:
            continue
        args = set(rule.arguments)
        if args - {"claim_id"}:
            continue  # ids of other objects: their pages are reached from the claim page
        paths.append(rule.build({"claim_id": claim_id} if args else {}, append_unknown=False)[1])
    return sorted(set(paths))


def test_no_staff_page_scrolls_sideways_on_a_phone(app, db_backend, live_server, chromium, make_shop, make_user,
                                                    make_claim):
    if db_backend != "sqlite":
        pytest.skip("page width does not depend on the database: one backend is enough")
    shop = make_shop(plan="elite", name="Harbor Collision and Paint of Greater Boston")
    owner = make_user(shop, email="width@example.com")
    claim = make_claim(shop, number="RO-2024-000123456", customer_last_name="Featherstonehaugh-Worthington",
                       customer_mobile="+16175550142", vin="1HGCM82633A004352")
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    log_in(page, live_server, owner.email)
    page.wait_for_selector("main")
    measured, wide = [], []
    for path in staff_page_paths(app, claim.id):
        response = page.goto(f"{live_server}{path}")
        kind = (response.headers.get("content-type") or "") if response is not None else ""
        if response is None or response.status != 200 or "text/html" not in kind:
            continue
        page.wait_for_selector("main")
        width = page.evaluate("window.innerWidth")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        measured.append(path)
        if scroll > width:
            wide.append(f"{path}: {scroll}px in {width}px")
    context.close()
    assert not wide, wide
    # the walk reached the pages that matter (a broken login or route filter would measure nothing)
    for expected in ("/console/", "/console/settings/", f"/console/claims/{claim.id}"):
        assert expected in measured, (expected, measured)
    assert len(measured) >= 10, measured
