"""Calendars: each appointment as an ICS (``icalendar``) with a stable UID and a SEQUENCE bumped on
every change (METHOD REQUEST, CANCEL once off); the location's private feed (secret token, only its
hash stored, revocable); two-way CalDAV against a real local server (Radicale, started per test on a
free port) driven by the ``caldav`` client: appointments go there as they change, the calendar's own
busy events block slots (transparent and all-day per setting, recurring ones expanded), and a
calendar that cannot be reached is a clear error that changes nothing."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from bayline_scheduling import calendar
from bayline_scheduling.testing import NOW, utc
from icalendar import Calendar

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

API = "/api/v1/plugins/scheduling"
TUE_0900 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in New York


def _book(api, claim_id, start, type_="dropoff"):
    r = api.post(f"{API}/appointments", json={"claim_id": claim_id, "type": type_, "start": start.isoformat()})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _vevent(data):
    cal = Calendar.from_ical(data)
    [event] = cal.walk("VEVENT")
    return cal, event


def _slots(api, type_="dropoff", day="2026-03-03"):
    r = api.get(f"{API}/availability", query_string={"type": type_, "start": day, "end": day})
    assert r.status_code == 200, r.get_json()
    return {s["local"][11:16]: s["free_units"] for s in r.get_json()}


# -- ICS ---------------------------------------------------------------------------------------


def test_ics_keeps_its_uid_and_bumps_sequence_request_then_cancel(sched, make_claim):
    appt = _book(sched.api, sched.claim.id, TUE_0900)
    first = sched.api.get(f"{API}/appointments/{appt['id']}/ics")
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    cal, ev = _vevent(first.data)
    assert str(cal["method"]) == "REQUEST" and str(ev["uid"]) == appt["uid"] and int(ev["sequence"]) == 0
    assert str(ev["status"]) == "TENTATIVE"
    assert ev["dtstart"].to_ical().decode() == "20260303T090000" and ev["dtstart"].params["TZID"] == \
        "America/New_York"
    assert ev.decoded("dtend") - ev.decoded("dtstart") == timedelta(minutes=15)
    assert "RO-1001" in str(ev["summary"]) and cal.walk("VTIMEZONE")  # the zone travels with it

    assert sched.api.patch(f"{API}/appointments/{appt['id']}", json={"status": "confirmed"}).status_code == 200
    _, ev = _vevent(sched.api.get(f"{API}/appointments/{appt['id']}/ics").data)
    assert str(ev["uid"]) == appt["uid"] and int(ev["sequence"]) == 1 and str(ev["status"]) == "CONFIRMED"
    assert sched.api.patch(f"{API}/appointments/{appt['id']}", json={"start": utc(2026, 3, 3, 15, 0)}).status_code \
        == 200
    _, ev = _vevent(sched.api.get(f"{API}/appointments/{appt['id']}/ics").data)
    assert int(ev["sequence"]) == 2 and ev["dtstart"].to_ical().decode() == "20260303T100000"
    assert sched.api.delete(f"{API}/appointments/{appt['id']}").status_code == 200
    cal, ev = _vevent(sched.api.get(f"{API}/appointments/{appt['id']}/ics").data)
    assert str(cal["method"]) == "CANCEL" and str(ev["status"]) == "CANCELLED"
    assert str(ev["uid"]) == appt["uid"] and int(ev["sequence"]) == 3


def test_customer_and_staff_download_the_same_invitation(sched, portal_client, client_for, app, make_claim):
    from bayline.events import commit
    from bayline.tenants.models import Shop

    with in_tenant(app, sched.shop.id) as session:
        session.get(Shop, sched.shop.id).email = "desk@harbor.example"
        commit(session)
    appt = _book(sched.api, sched.claim.id, TUE_0900)
    phone = portal_client(sched.claim)
    r = phone.get(f"/c/s/scheduling/appointments/{appt['id']}/invite.ics")
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    assert "attachment" in r.headers["Content-Disposition"]
    _, ev = _vevent(r.data)
    assert str(ev["uid"]) == appt["uid"] and str(ev["organizer"]) == "mailto:desk@harbor.example"
    staff = client_for(sched.owner).get(f"/plugins/scheduling/appointments/{appt['id']}/invite.ics")
    assert staff.status_code == 200 and _vevent(staff.data)[1]["uid"] == ev["uid"]
    # another claim's customer cannot download it
    other = portal_client(make_claim(sched.shop, number="RO-4040"))
    assert other.get(f"/c/s/scheduling/appointments/{appt['id']}/invite.ics").status_code == 404


# -- the private feed --------------------------------------------------------------------------


def _issue_feed(staff):
    page = staff.get("/plugins/scheduling/")
    r = staff.post("/plugins/scheduling/feed", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 201
    text = r.get_data(as_text=True)
    url = text.split('id="feed-url" readonly size="80" value="')[1].split('"')[0]
    assert url.startswith("http://localhost/plugins/scheduling/public/feed/") and url.endswith(".ics")
    return url.removeprefix("http://localhost"), page


def test_private_feed_lists_live_appointments_and_can_be_revoked(sched, client_for, make_claim, app):
    from bayline_scheduling.models import SchedulingFeed

    client = app.test_client()
    kept = _book(sched.api, sched.claim.id, TUE_0900)
    gone = _book(sched.api, make_claim(sched.shop, number="RO-1002").id, TUE_0900 + timedelta(hours=1))
    assert sched.api.delete(f"{API}/appointments/{gone['id']}").status_code == 200
    staff = client_for(sched.owner)
    path, page = _issue_feed(staff)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    r = client.get(path)  # no login: the token is the key
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal = Calendar.from_ical(r.data)
    assert "METHOD" not in cal  # a subscription feed, not an invitation
    assert {str(e["uid"]) for e in cal.walk("VEVENT")} == {kept["uid"]}
    with in_tenant(app, sched.shop.id) as session:
        [row] = session.query(SchedulingFeed).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    # a new address stops the old one at once; revoking stops every one
    new_path, _ = _issue_feed(staff)
    assert client.get(path).status_code == 404 and client.get(new_path).status_code == 200
    r = staff.post("/plugins/scheduling/feed/revoke", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 303
    assert client.get(new_path).status_code == 404
    assert client.get("/plugins/scheduling/public/feed/not-a-token.ics").status_code == 404


def test_feed_needs_the_configure_permission(sched, client_for, make_user):
    tech = make_user(sched.shop, role="technician", email=f"tech-{sched.shop.id}@example.com")
    page = client_for(sched.owner).get("/plugins/scheduling/")
    r = client_for(tech).post("/plugins/scheduling/feed", data={"csrf_token": csrf_token(page)})
    assert r.status_code in (403, 400)


# -- CalDAV with a real local server -----------------------------------------------------------


def _event(uid, start, end, summary="Staff meeting", **extra):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Staff//Calendar app//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20260301T120000Z", f"DTSTART{start}", f"DTEND{end}", f"SUMMARY:{summary}"]
    lines += [f"{k.upper()}:{v}" for k, v in extra.items()]
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


def _on_server(cal):
    return {str(e.icalendar_component["uid"]): e.icalendar_component for e in cal.events()}


def _sync(app, shop_id):
    from bayline_scheduling import caldav_sync

    from bayline.plugin_api import for_shop

    with app.app_context(), for_shop(shop_id) as shop:
        return caldav_sync.sync(shop)


def test_appointments_go_to_the_staff_calendar_as_they_change(app, sched, staff_calendar):
    appt = _book(sched.api, sched.claim.id, TUE_0900)  # pushed after the commit (task caldav_push)
    server = _on_server(staff_calendar)
    assert set(server) == {appt["uid"]}
    ev = server[appt["uid"]]
    assert int(ev["sequence"]) == 0 and ev["dtstart"].to_ical().decode() == "20260303T090000"
    assert sched.api.patch(f"{API}/appointments/{appt['id']}", json={"status": "confirmed"}).status_code == 200
    ev = _on_server(staff_calendar)[appt["uid"]]
    assert int(ev["sequence"]) == 1 and str(ev["status"]) == "CONFIRMED"  # stored as sent: no extra bump
    assert sched.api.patch(f"{API}/appointments/{appt['id']}", json={"start": utc(2026, 3, 3, 16, 0)}).status_code \
        == 200
    ev = _on_server(staff_calendar)[appt["uid"]]
    assert int(ev["sequence"]) == 2 and ev["dtstart"].to_ical().decode() == "20260303T110000"
    assert sched.api.delete(f"{API}/appointments/{appt['id']}").status_code == 200
    assert _on_server(staff_calendar) == {}
    # the shop's own appointment is never read back as a busy period
    assert _sync(app, sched.shop.id)["busy"] == 0


def test_busy_events_on_the_staff_calendar_block_slots(app, sched, staff_calendar, make_claim, client_for):
    tz = ";TZID=America/New_York:"
    staff_calendar.add_event(_event("meeting@staff", f"{tz}20260303T090000", f"{tz}20260303T100000"))
    staff_calendar.add_event(_event("lunch@staff", f"{tz}20260303T120000", f"{tz}20260303T130000",
                                    summary="Lunch (free)", transp="TRANSPARENT"))
    staff_calendar.add_event(_event("off@staff", ";VALUE=DATE:20260304", ";VALUE=DATE:20260305",
                                    summary="Inventory day"))
    staff_calendar.add_event(_event("gone@staff", f"{tz}20260303T140000", f"{tz}20260303T150000",
                                    summary="Called off", status="CANCELLED"))
    staff_calendar.add_event(_event("weekly@staff", f"{tz}20260302T160000", f"{tz}20260302T163000",
                                    summary="Weekly huddle", rrule="FREQ=WEEKLY;BYDAY=MO,TU"))
    before = _slots(sched.api)
    assert before["09:00"] == 2 and before["16:00"] == 2
    assert _sync(app, sched.shop.id)["busy"] >= 3
    after = _slots(sched.api)
    assert "09:00" not in after and "09:45" not in after and after["10:00"] == 2  # the meeting
    assert after["12:00"] == 2  # transparent: free by default
    assert after["14:00"] == 2  # cancelled
    assert "16:00" not in after and "16:15" not in after and after["16:30"] == 2  # the recurring huddle (Tue)
    assert _slots(sched.api, day="2026-03-04") == {}  # all-day: blocks the day by default
    # booking into a busy time: "slot just taken" with alternatives, nothing booked
    r = sched.api.post(f"{API}/appointments", json={"claim_id": sched.claim.id, "type": "dropoff",
                                                   "start": TUE_0900.isoformat()})
    assert r.status_code == 409 and r.get_json()["code"] == "scheduling_slot_taken" and r.get_json()["alternatives"]
    assert "09:00" not in {a["local"][11:16] for a in r.get_json()["alternatives"] if a["local"][:10] ==
                           "2026-03-03"}
    # the calendar page shows what blocks it
    page = client_for(sched.owner).get("/plugins/scheduling/?day=2026-03-03").get_data(as_text=True)
    assert "Busy on the staff calendar: 09:00–10:00 · Staff meeting" in page
    # the shop's rules for free and all-day events
    sched.set("scheduling.caldav_transparent", "block")
    sched.set("scheduling.caldav_all_day", "ignore")
    _sync(app, sched.shop.id)
    assert "12:00" not in _slots(sched.api) and _slots(sched.api, day="2026-03-04")["09:00"] == 2
    # an event removed from the staff calendar frees its time on the next sync
    staff_calendar.get_event_by_uid("meeting@staff").delete()
    _sync(app, sched.shop.id)
    assert _slots(sched.api)["09:00"] == 2


def test_sync_puts_missing_appointments_there_and_takes_cancelled_ones_off(app, sched, staff_calendar,
                                                                           make_claim):
    from bayline_scheduling.models import SchedulingAppointment

    # written while no calendar was connected: the sync catches up
    sched.set("scheduling.caldav_url", "")
    live = _book(sched.api, sched.claim.id, TUE_0900)
    off = _book(sched.api, make_claim(sched.shop, number="RO-1003").id, TUE_0900 + timedelta(hours=2))
    sched.set("scheduling.caldav_url", str(staff_calendar.url))
    _sync(app, sched.shop.id)
    assert set(_on_server(staff_calendar)) == {live["uid"], off["uid"]}
    with in_tenant(app, sched.shop.id) as session:  # cancelled while the calendar was unreachable
        row = session.get(SchedulingAppointment, off["id"])
        row.status, row.sequence = "cancelled", row.sequence + 1
        session.commit()
    assert _sync(app, sched.shop.id) == {"pushed": 0, "removed": 1, "busy": 0}
    assert set(_on_server(staff_calendar)) == {live["uid"]}
    assert _sync(app, sched.shop.id) == {"pushed": 0, "removed": 0, "busy": 0}  # nothing to do twice


def test_periodic_sync_covers_every_shop_with_a_calendar(app, sched, staff_calendar):
    from bayline_scheduling.tasks import caldav_sync_all

    tz = ";TZID=America/New_York:"
    staff_calendar.add_event(_event("meeting@staff", f"{tz}20260303T090000", f"{tz}20260303T100000"))
    with app.app_context():
        assert caldav_sync_all() == 1
    assert "09:00" not in _slots(sched.api)


def test_unreachable_or_refusing_calendar_is_a_clear_error_and_changes_nothing(app, sched, staff_calendar,
                                                                              radicale, client_for):
    tz = ";TZID=America/New_York:"
    staff_calendar.add_event(_event("meeting@staff", f"{tz}20260303T090000", f"{tz}20260303T100000"))
    _sync(app, sched.shop.id)
    staff = client_for(sched.owner)
    page = staff.get("/plugins/scheduling/?day=2026-03-03")
    sched.set("scheduling.caldav_password", "wrong-password")
    r = staff.post("/plugins/scheduling/caldav/sync", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 502 and "refused the user name or password" in r.get_data(as_text=True)
    assert "09:00" not in _slots(sched.api)  # the last good sync's busy periods stay
    sched.set("scheduling.caldav_password", radicale.password)
    radicale.stop()
    r = staff.post("/plugins/scheduling/caldav/sync", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 502 and "did not answer" in r.get_data(as_text=True)
    assert "09:00" not in _slots(sched.api)
    # a booking still works while the calendar is down; the push failure is only logged
    appt = sched.api.post(f"{API}/appointments", json={"claim_id": sched.claim.id, "type": "dropoff",
                                                      "start": utc(2026, 3, 3, 15, 0)})
    assert appt.status_code == 201, appt.get_json()


def test_staff_sync_button_reports_what_it_did(sched, staff_calendar, client_for):
    _book(sched.api, sched.claim.id, TUE_0900)
    staff = client_for(sched.owner)
    page = staff.get("/plugins/scheduling/?day=2026-03-03")
    assert 'id="caldav-sync"' in page.get_data(as_text=True)
    r = staff.post("/plugins/scheduling/caldav/sync", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert r.status_code == 200 and "Synced with the staff calendar" in r.get_data(as_text=True)


def test_parse_events_reads_durations_dates_and_instants():
    data = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
        "BEGIN:VEVENT", "UID:a", "DTSTAMP:20260301T000000Z", "DTSTART:20260303T140000Z", "DURATION:PT45M", "END:VEVENT",
        "BEGIN:VEVENT", "UID:b", "DTSTAMP:20260301T000000Z", "DTSTART;VALUE=DATE:20260304", "END:VEVENT",
        "BEGIN:VEVENT", "UID:c", "DTSTAMP:20260301T000000Z", "DTSTART:20260303T150000Z", "END:VEVENT",
        "END:VCALENDAR", ""])
    a, b, c = calendar.parse_events(data)
    assert a["end"] - a["start"] == timedelta(minutes=45)
    assert b["all_day"] and (b["end"] - b["start"]).days == 1
    assert c["end"] is None
    from zoneinfo import ZoneInfo

    from bayline_scheduling.caldav_sync import busy_from

    busy = busy_from([a, b, c], set(), ZoneInfo("America/New_York"), transparent=False, all_day=True)
    assert [u for u, *_ in busy] == ["a", "b"]  # an instant blocks nothing
    assert NOW
