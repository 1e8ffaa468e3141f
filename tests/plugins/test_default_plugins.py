"""Core behaviour registers through the same hooks as plugins (``bayline.default_plugins``): the console
nav comes from ``menu_items``, event types (and which reach live pages) from ``register_event_types``,
and a failing implementation of a per-request collecting hook is logged and skipped, never a 500."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import TypedDict

import pytest

from bayline.live import channel, get_broker, shop_channel
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import ClaimPanel, EventType, Feature, MenuItem, PortalSection
from bayline.testing.plugin import in_tenant

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES: list[str] = []


class Ping(TypedDict):
    claim_id: int


def _plugin(name: str, fail: bool) -> types.ModuleType:
    module = types.ModuleType(f"bayline_{name}")

    @hookimpl
    def register_features():
        return [Feature(name, name)]

    @hookimpl
    def register_event_types():
        return [EventType(f"{name}.ping", Ping, "A test ping.", staff_live=True)]

    def _maybe_fail(kind: str) -> None:
        if fail:
            raise RuntimeError(f"{name} {kind} is broken")

    @hookimpl
    def claim_panels(claim, user):
        _maybe_fail("panel")
        return [ClaimPanel(name, f"{name.title()} panel", f"<p>{name} panel body</p>")]

    @hookimpl
    def portal_sections(claim, viewer):
        _maybe_fail("section")
        return [PortalSection(name, f"{name.title()} card", f"<p>{name} card body</p>")]

    @hookimpl
    def menu_items(user, shop):
        _maybe_fail("menu")
        return [MenuItem(f"{name.title()} link", f"/plugins/{name}/", order=400)]

    @hookimpl
    def extra_template_vars(template_name):
        _maybe_fail("vars")
        TEMPLATES.append(template_name)
        return {}

    for fn in (register_features, register_event_types, claim_panels, portal_sections, menu_items,
               extra_template_vars):
        setattr(module, fn.__name__, fn)
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("goodone", _plugin("goodone", fail=False)), ("badone", _plugin("badone", fail=True))]


@pytest.fixture
def app_config():
    return {"BAYLINE_RAISE_HOOK_ERRORS": False}  # production behaviour: log, skip, carry on


@pytest.fixture
def shop_with_both(make_shop, enable_plugin):
    shop = make_shop()
    enable_plugin(shop, "goodone")
    enable_plugin(shop, "badone")
    return shop


def _nav(html: str) -> list[str]:
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", html, re.S)
    assert nav is not None
    return re.findall(r">([^<]+)</a>", nav.group(1))


def test_raising_claim_panel_leaves_the_claim_page_up_with_the_other_panels(
        app, shop_with_both, make_user, make_claim, client_for, caplog):
    claim = make_claim(shop_with_both)
    client = client_for(make_user(shop_with_both, "owner"))
    r = client.get(f"/console/claims/{claim.id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "goodone panel body" in page and "badone panel body" not in page
    assert "Photos" in page or "Files" in page or "Messages" in page  # the core's own panels and thread
    assert any("badone" in rec.getMessage() and "claim_panels" in rec.getMessage() and rec.exc_info
               for rec in caplog.records)
    # the raising menu_items and extra_template_vars were skipped too: the good plugin's link shows
    assert "Goodone link" in _nav(page) and "Badone link" not in _nav(page)


def test_raising_portal_section_leaves_the_portal_page_up(app, shop_with_both, make_claim, portal_client):
    claim = make_claim(shop_with_both)
    r = portal_client(claim).get("/c/s/")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "goodone card body" in page and "badone card body" not in page


def test_extra_template_vars_gets_the_real_template_name(app, shop_with_both, make_user, make_claim, client_for):
    TEMPLATES.clear()
    claim = make_claim(shop_with_both)
    client_for(make_user(shop_with_both, "owner")).get(f"/console/claims/{claim.id}")
    assert "staff/claim.html" in TEMPLATES and "" not in TEMPLATES


def test_nav_comes_from_menu_items_and_follows_permissions(app, make_shop, make_user, client_for):
    shop = make_shop()
    owner = _nav(client_for(make_user(shop, "owner")).get("/console/").get_data(as_text=True))
    tech = _nav(client_for(make_user(shop, "technician")).get("/console/").get_data(as_text=True))
    assert owner[:7] == ["Board", "Claims", "New claim", "Outbox", "Stages", "Staff", "Settings"]
    assert tech[:2] == ["Board", "Claims"] and "Settings" not in tech and "New claim" not in tech
    assert "Goodone link" not in owner  # the plugin is not active for this shop


def test_sms_texts_link_shows_only_where_sms_is_active(app, make_shop, make_user, client_for, enable_plugin):
    if "sms" not in app.extensions["bayline.plugins"].plugins:
        pytest.fail("the bundled sms plugin must be installed for this test (make install)")
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    with_sms, without = make_shop(), make_shop()
    enable_plugin(with_sms, "sms")
    with in_tenant(app) as session:  # every plan has sms: the other shop switches it off
        provisioning.set_feature_enabled(session.get(Shop, without.id), "sms", False)
        commit(session)
    nav_with = _nav(client_for(make_user(with_sms, "owner")).get("/console/").get_data(as_text=True))
    nav_without = _nav(client_for(make_user(without, "owner")).get("/console/").get_data(as_text=True))
    assert "Texts" in nav_with and "Texts" not in nav_without


def test_live_pages_follow_registered_event_types(app, shop_with_both, make_claim):
    from bayline.events import commit, emit

    claim = make_claim(shop_with_both)
    staff_sub = get_broker(app).subscribe(shop_channel(shop_with_both.id))
    portal_sub = get_broker(app).subscribe(channel(shop_with_both.id, claim.id))
    try:
        with in_tenant(app, shop_with_both.id) as session:
            emit("goodone.ping", shop_with_both.id, {"claim_id": claim.id})
            commit(session)
        message = staff_sub.get(timeout=60)
        assert message is not None and message["type"] == "goodone.ping"
        # staff_live only: the customer's page is not told (the next message there would be a later one)
        with in_tenant(app, shop_with_both.id) as session:
            emit("claim.updated", shop_with_both.id, {"claim_id": claim.id, "fields": ["plate"], "user_id": None})
            commit(session)
        heard = portal_sub.get(timeout=60)
        assert heard is not None and heard["type"] == "claim.updated"
    finally:
        staff_sub.close()
        portal_sub.close()


def test_unregistered_event_type_is_refused(app):
    from bayline.events import emit

    with app.app_context(), pytest.raises(ValueError, match="register_event_types"):
        emit("document.stapled", 1, {})


def test_core_names_no_plugin_vocabulary():
    """Plugin event types live in their plugins: the core's code does not name them."""
    offenders = []
    for folder in ("core", "web", "tenants"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            for word in ("document.signed", "esign.declined", "esign.", "sms.delivered"):
                if word in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {word}")
    assert offenders == []


def test_esign_registers_its_own_event_types(app):
    types_ = app.extensions["bayline.event_types"]
    if "esign" not in app.extensions["bayline.plugins"].plugins:
        pytest.fail("the bundled esign plugin must be installed for this test (make install)")
    assert types_["document.signed"].staff_live and not types_["document.signed"].portal_live
    assert "esign.declined" in types_
    assert types_["claim.stage_changed"].portal_live  # the core's own, from bayline.default_plugins.claims
