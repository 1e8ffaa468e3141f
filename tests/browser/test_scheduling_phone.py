"""Issue 24 acceptance in a real browser at phone size (360 x 740): a customer books a drop-off from the
portal; it appears on the staff calendar; staff confirm it; the portal shows the confirmed time; the
confirmation text reaches the Telnyx stand-in (through the real SMS plugin and the official SDK); the
customer's ICS imports into a real local CalDAV server (Radicale, the shop's connected staff calendar,
driven by the ``caldav`` client), the server's own free-busy report shows that slot busy, and the next
availability read (another customer's booking page) no longer offers it.

The clock of the scheduling plugin and the outbox is Monday 2 March 2026, 11:00 in New York (the
plugin's tests' clock), so the week shown is fixed; everything else runs on the real clock."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.browser
pytest.importorskip("bayline_scheduling", reason="the scheduling plugin is not installed")
pytest.importorskip("bayline_sms", reason="the sms plugin is not installed")

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def telnyx_api() -> Iterator[Any]:
    from bayline_sms.testing.telnyx_standin import TelnyxStandIn

    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(telnyx_api: Any) -> dict[str, Any]:
    return telnyx_api.app_settings()


@pytest.fixture
def radicale(tmp_path: Any) -> Iterator[Any]:
    from bayline_scheduling.testing import RadicaleServer

    server = RadicaleServer(tmp_path / "radicale").start()
    yield server
    server.stop()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The scheduling plugin's and the outbox's clocks read the plugin tests' NOW (in every thread of
    this process, the live server's included)."""
    import bayline_scheduling.api as s_api
    import bayline_scheduling.caldav_sync as s_caldav
    import bayline_scheduling.calendar as s_calendar
    import bayline_scheduling.notify as s_notify
    import bayline_scheduling.service as s_service
    import bayline_scheduling.tasks as s_tasks
    import bayline_scheduling.views as s_views
    from bayline_scheduling.testing import NOW

    import bayline.messaging.service as outbox_service
    import bayline.messaging.tasks as outbox_tasks

    for module in (outbox_service, outbox_tasks, s_service, s_notify, s_views, s_api, s_calendar, s_caldav,
                   s_tasks):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    return NOW


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url


def _enter_portal(page: Any, base: str, claim: Any) -> None:
    page.goto(f"{base}/c/{claim.portal_link.raw}")
    page.fill("#last_name", claim.customer_last_name.lower())
    page.fill("#claim_number", claim.number.lower())
    page.click("button:has-text('Show my repair')")
    page.wait_for_url(f"{base}/c/s/")


def test_drop_off_booked_on_a_phone_confirmed_texted_and_on_the_staff_calendar(
        app, live_server, chromium, artifacts, db_backend, make_shop, make_user, make_claim, api_client,
        set_setting, telnyx_api, radicale, frozen):
    from bayline_scheduling.testing import HOURS
    from bayline_sms.testing.helpers import SHOP_NUMBER
    from icalendar import Calendar

    from bayline.testing.processes import wait_until

    from .conftest import WAIT_MS, log_in

    base = live_server
    shop = make_shop(plan="starter", name="Harbor Collision", timezone="America/New_York", hours=HOURS)
    owner = make_user(shop, email=f"sched-phone-{db_backend}@example.com")
    api = api_client(shop)
    assert api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER,
                                                "messaging_profile_id": "mp-1"}).status_code == 200
    assert api.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                     "messaging.quiet_hours_end": ""}).status_code == 200
    # one advisor at the desk: one drop-off at a time
    r = api.put("/api/v1/plugins/scheduling/types/dropoff", json={"name": "Drop-off", "kind": "dropoff",
                                                                  "duration_minutes": 15, "capacity": 1,
                                                                  "step_minutes": 15})
    assert r.status_code == 200, r.get_json()
    staff_url = radicale.make_calendar("staff")
    set_setting(shop, "scheduling.caldav_url", staff_url)
    set_setting(shop, "scheduling.caldav_username", radicale.user)
    set_setting(shop, "scheduling.caldav_password", radicale.password)
    claim = make_claim(shop, number="RO-2404", customer_first_name="Dana", customer_last_name="Reyes",
                       customer_mobile="+16175550142")
    neighbour = make_claim(shop, number="RO-2405", customer_first_name="Sam", customer_last_name="Okafor",
                           customer_mobile="+16175550143")

    customer_ctx = chromium.new_context(**PHONE)
    staff_ctx = chromium.new_context(**PHONE)
    other_ctx = chromium.new_context(**PHONE)
    for ctx in (customer_ctx, staff_ctx, other_ctx):
        ctx.set_default_timeout(WAIT_MS)
    try:
        # 1. the customer books Wednesday 09:00 from the portal card
        portal = customer_ctx.new_page()
        _enter_portal(portal, base, claim)
        _no_sideways_scroll(portal)
        portal.screenshot(path=str(artifacts / f"scheduling-phone-portal-card-{db_backend}.png"), full_page=True)
        portal.click("a.btn:has-text('Book drop-off')")
        portal.wait_for_selector("h1:has-text('Book drop-off')")
        wednesday = portal.locator("section.sched-day:has(h2:has-text('Wednesday 04 March'))")
        assert wednesday.locator("button.sched-slot:has-text('09:00')").count() == 1
        _no_sideways_scroll(portal)
        portal.screenshot(path=str(artifacts / f"scheduling-phone-slots-{db_backend}.png"), full_page=True)
        wednesday.locator("button.sched-slot:has-text('09:00')").click()
        portal.wait_for_selector("#sched-status:has-text('Waiting for the shop to confirm')")
        assert "Wednesday 04 March 2026, 09:00" in portal.inner_text("#sched-when")
        appointment_url = portal.url
        appt_id = int(appointment_url.rsplit("/", 1)[1])

        # 2. it is on the staff calendar; staff confirm it there (on a phone too)
        staff = staff_ctx.new_page()
        log_in(staff, base, owner.email)
        staff.goto(f"{base}/plugins/scheduling/?day=2026-03-04")
        card = staff.locator(f"#appt-{appt_id}")
        card.wait_for()
        assert "RO-2404" in card.inner_text() and "09:00" in card.inner_text() and "pending" in card.inner_text()
        _no_sideways_scroll(staff)
        staff.screenshot(path=str(artifacts / f"scheduling-phone-staff-calendar-{db_backend}.png"), full_page=True)
        staff.click(f"#confirm-{appt_id}")
        staff.wait_for_selector(f"#appt-{appt_id} .status:has-text('confirmed')")

        # 3. the portal shows the confirmed time
        portal.goto(appointment_url)
        portal.wait_for_selector("#sched-status:has-text('Confirmed')")
        assert "Wednesday 04 March 2026, 09:00" in portal.inner_text("#sched-when")
        _no_sideways_scroll(portal)
        portal.screenshot(path=str(artifacts / f"scheduling-phone-confirmed-{db_backend}.png"), full_page=True)

        # 4. the confirmation text reached the Telnyx stand-in (to the customer, from the shop's number)
        def confirmation() -> list[dict[str, Any]]:
            return [m for m in telnyx_api.messages if "is confirmed for Wed 04 Mar at 09:00" in m["text"]]

        [sent] = wait_until(confirmation, "the confirmation text at the Telnyx stand-in")
        assert sent["to"][0]["phone_number"] == "+16175550142" and sent["from"]["phone_number"] == SHOP_NUMBER
        assert sent["text"].startswith("Harbor Collision: your drop-off is confirmed")

        # 5. the customer's ICS ("Add to my calendar") imports into the shop's CalDAV calendar
        with portal.expect_download() as download:
            portal.click("a:has-text('Add to my calendar')")
        ics = download.value.path().read_bytes()
        invitation = Calendar.from_ical(ics)
        [event] = invitation.walk("VEVENT")
        assert str(invitation["method"]) == "REQUEST" and int(event["sequence"]) == 1
        assert event["dtstart"].to_ical().decode() == "20260304T090000"  # the time the portal shows
        staff_calendar = radicale.calendar(staff_url)
        staff_calendar.add_event(ics.decode(), increase_seqno=False)
        stored = [e.icalendar_component for e in staff_calendar.events()
                  if str(e.icalendar_component["uid"]) == str(event["uid"])]
        assert len(stored) == 1  # the same UID: the copy Bayline put there is the one the ICS updates
        assert stored[0]["dtstart"].to_ical().decode() == "20260304T090000" and int(stored[0]["sequence"]) == 1
        freebusy = staff_calendar.freebusy_request(datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))
        assert "FBTYPE=BUSY:20260304T140000Z/20260304T141500Z" in freebusy.data  # the server: that slot is busy

        # 6. staff sync the calendar; the next availability read does not offer that slot
        staff.goto(f"{base}/plugins/scheduling/?day=2026-03-04")
        staff.click("#caldav-sync")
        staff.wait_for_selector(".flash:has-text('Synced with the staff calendar')")
        other = other_ctx.new_page()
        _enter_portal(other, base, neighbour)
        other.goto(f"{base}/c/s/scheduling/book/dropoff?day=2026-03-02")
        wednesday = other.locator("section.sched-day:has(h2:has-text('Wednesday 04 March'))")
        wednesday.wait_for()
        times = wednesday.locator("button.sched-slot").all_inner_texts()
        assert "09:00" not in times and "08:45" in times and "09:15" in times
        other.screenshot(path=str(artifacts / f"scheduling-phone-next-read-{db_backend}.png"), full_page=True)
        r = api.get("/api/v1/plugins/scheduling/availability", query_string={"type": "dropoff",
                                                                           "start": "2026-03-04",
                                                                           "end": "2026-03-04"})
        assert "2026-03-04T14:00:00+00:00" not in {s["start"] for s in r.get_json()}
    finally:
        for ctx in (customer_ctx, staff_ctx, other_ctx):
            ctx.close()


def test_staff_drag_an_appointment_to_another_day(app, live_server, desktop, artifacts, db_backend, make_shop,
                                                  make_user, make_claim, api_client, frozen):
    """The calendar's week view: dragging a card onto another day moves it there at the same time of day
    (calendar.js posts to the move route); a drop on a closed day is refused and the card stays."""
    from bayline_scheduling.testing import HOURS

    from .conftest import log_in

    shop = make_shop(plan="starter", name="Harbor Collision", timezone="America/New_York", hours=HOURS)
    owner = make_user(shop, email=f"sched-drag-{db_backend}@example.com")
    api = api_client(shop)
    claim = make_claim(shop, number="RO-2410")
    r = api.post("/api/v1/plugins/scheduling/appointments", json={"claim_id": claim.id, "type": "dropoff",
                                                                  "start": "2026-03-03T14:00:00+00:00"})
    assert r.status_code == 201, r.get_json()
    appt_id = r.get_json()["id"]
    page = desktop.new_page()
    log_in(page, live_server, owner.email)
    page.goto(f"{live_server}/plugins/scheduling/?view=week&day=2026-03-03")
    page.wait_for_selector(f"section[data-day='2026-03-03'] #appt-{appt_id}")
    page.drag_and_drop(f"#appt-{appt_id}", "section[data-day='2026-03-05']")
    page.wait_for_selector(f"section[data-day='2026-03-05'] #appt-{appt_id}")
    assert "09:00" in page.inner_text(f"#appt-{appt_id}")
    moved = api.get(f"/api/v1/plugins/scheduling/appointments/{appt_id}").get_json()
    assert moved["start"].startswith("2026-03-05T14:00") and moved["sequence"] == 1
    page.screenshot(path=str(artifacts / f"scheduling-week-drag-{db_backend}.png"), full_page=True)
    # Saturday is closed: the move is refused, the page says why, the appointment keeps its day
    page.drag_and_drop(f"#appt-{appt_id}", "section[data-day='2026-03-07']")
    page.wait_for_selector("#sched-error:has-text('closed that day')")
    page.wait_for_selector(f"section[data-day='2026-03-05'] #appt-{appt_id}")
    assert api.get(f"/api/v1/plugins/scheduling/appointments/{appt_id}").get_json()["start"].startswith(
        "2026-03-05T14:00")
