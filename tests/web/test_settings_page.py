"""Issue 16 item 5: the settings page lists settings by area with human labels and help, choices as
words, long texts in editors sized for their content, a preview of message templates (the core
template service, on one of the shop's claims), inline errors that keep what was typed, and a
features list of installed features only, each with what it does and whether the plan includes it."""
from __future__ import annotations

import html
import re

import pytest

from bayline import settings_registry
from bayline.plugins.types import SettingDef
from bayline.testing.forms import csrf_token


def _page(client, path="/console/settings/"):
    r = client.get(path)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _headings(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<legend><h2>([^<]+)</h2></legend>", page)]


def _group_of(page: str, key: str) -> str:
    """The heading the setting ``key`` is listed under."""
    at = page.index(f'data-key="{key}"')
    return html.unescape(re.findall(r"<legend><h2>([^<]+)</h2></legend>", page[:at])[-1])


def test_settings_are_grouped_with_words_for_choices(app, make_shop, make_user, client_for):
    shop = make_shop()
    page = _page(client_for(make_user(shop, "owner")))
    headings = _headings(page)
    for area in ("Claims and board", "Customer portal", "Printed documents", "Messages and quiet hours",
                 "Photos and uploads", "Two-way SMS"):
        assert area in headings, headings
    assert len(headings) == len(set(headings))  # one card per area
    assert _group_of(page, "portal.verification") == "Customer portal"
    assert _group_of(page, "documents.paper") == "Printed documents"
    assert _group_of(page, "sms.stage_template") == "Two-way SMS"
    # choices in words, the stored value stays the option's value
    assert '<option value="name_claim_pin" >Last name, claim number and the shop PIN</option>' in page
    assert ">name claim pin<" not in page and ">name_claim_pin<" not in page
    assert ">US Letter</option>" in page
    # help text tied to its field
    assert 'aria-describedby="s-portal-verification-help"' in page
    assert 'id="s-portal-verification-help"' in page


def test_long_texts_get_editors_sized_for_them(app, make_shop, make_user, client_for):
    shop = make_shop()
    long_terms = "\n".join(f"Clause {n}: " + "the shop may road-test the vehicle. " * 4 for n in range(8))
    with app.app_context():
        from bayline.events import commit
        settings_registry.set_values(shop.id, {"documents.authorization_terms": long_terms}, None)
        commit()
    page = _page(client_for(make_user(shop, "owner")))
    rows = int(re.search(r'<textarea id="s-documents-authorization_terms" name="documents.authorization_terms" '
                         r'rows="(\d+)"', page).group(1))
    assert rows >= 16  # 8 lines of ~150 characters each wrap to two rows
    short = int(re.search(r'<textarea id="s-messaging-marketing_consent_wording" [^>]*rows="(\d+)"', page).group(1))
    assert 3 <= short < rows


def test_a_mistake_comes_back_next_to_its_field_with_everything_typed(app, make_shop, make_user, client_for):
    shop = make_shop()
    client = client_for(make_user(shop, "owner"))
    token = csrf_token(client, "/console/settings/")
    shown = ["portal.link_expiry_days", "claims.board_delivered_days", "documents.authorization_terms",
             "portal.show_eta", "portal.verification"]
    r = client.post("/console/settings/", data={
        "csrf_token": token, "shown": shown, "portal.link_expiry_days": "soon",
        "claims.board_delivered_days": "400", "documents.authorization_terms": "My own typed terms",
        "portal.verification": "off"})  # portal.show_eta unchecked
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="s-portal-link_expiry_days-error">Must be a whole number', page)
    assert 'value="soon"' in page
    assert 'aria-describedby="s-portal-link_expiry_days-help s-portal-link_expiry_days-error"' in page
    # the service's own check (0..365) also answers inline, with the number typed kept
    assert re.search(r'id="s-claims-board_delivered_days-error">Must be between 0 and 365 days', page)
    assert 'value="400"' in page
    assert ">My own typed terms</textarea>" in page
    assert not re.search(r'name="portal.show_eta" checked', page)  # the unticked box stays unticked
    assert '<option value="off" selected>' in page
    assert '<a href="#s-portal-link_expiry_days">' in page  # the summary links to the field
    with app.app_context():  # nothing saved
        values = settings_registry.get_all(shop.id)
    assert values["portal.verification"] == "name_claim" and values["portal.show_eta"] is True


def test_a_message_template_is_previewed_for_a_claim_and_not_saved(app, make_shop, make_user, make_claim,
                                                                  client_for):
    shop = make_shop(name="Harbor Collision")
    make_claim(shop, number="RO-OLD", customer_first_name="Olivia")
    claim = make_claim(shop, number="RO-PV1", customer_first_name="Priya", vehicle_year=2020,
                       vehicle_make="Mazda", vehicle_model="CX-5")
    client = client_for(make_user(shop, "owner"))
    page = _page(client)
    assert '<button type="submit" name="preview" value="sms.stage_template"' in page
    token = csrf_token(client, "/console/settings/")
    typed = "Hi {first_name}, your {vehicle} at {shop_name} is at {stage}. {portal_link}"
    r = client.post("/console/settings/", data={
        "csrf_token": token, "shown": ["sms.stage_template", "portal.link_expiry_days"],
        "sms.stage_template": typed, "portal.link_expiry_days": "21", "preview": "sms.stage_template",
        "preview_claim": str(claim.id)})
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[:3000]
    text = html.unescape(re.search(r'<p class="pre preview-text">([^<]*)</p>', page).group(1))
    assert text == "Hi Priya, your 2020 Mazda CX-5 at Harbor Collision is at Photos taken. {portal_link}"
    assert "What claim RO-PV1 (Priya Reyes) would get" in page and "1 text segment (GSM-7)" in page
    assert html.escape(typed) in page and 'value="21"' in page  # every typed value is kept
    with app.app_context():  # a preview saves nothing
        values = settings_registry.get_all(shop.id)
    assert values["sms.stage_template"] != typed and values["portal.link_expiry_days"] == 14

    # a broken template answers next to its editor, still typed
    r = client.post("/console/settings/", data={
        "csrf_token": token, "shown": ["sms.stage_template"], "sms.stage_template": "Hi {firstname}",
        "preview": "sms.stage_template"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="s-sms-stage_template-error">Unknown field \{firstname\}', page)
    assert ">Hi {firstname}</textarea>" in page
    # saving the broken one is refused the same way
    r = client.post("/console/settings/", data={"csrf_token": token, "shown": ["sms.stage_template"],
                                                "sms.stage_template": "Hi {firstname}"})
    assert r.status_code == 422 and 'id="s-sms-stage_template-error"' in r.get_data(as_text=True)
    # only message templates have a preview
    r = client.post("/console/settings/", data={"csrf_token": token, "preview": "portal.pin"})
    assert r.status_code == 400


def test_features_list_installed_features_only_with_plan_status(app, make_shop, make_user, client_for):
    with app.app_context():  # this database's starter plan without quotes (an installed feature)
        from sqlalchemy import delete

        from bayline.db import get_session
        from bayline.tenants.models import PlanFeature
        get_session().execute(delete(PlanFeature).where(PlanFeature.plan_key == "starter",
                                                        PlanFeature.feature == "quotes"))
        get_session().commit()
    shop = make_shop(plan="starter")
    page = _page(client_for(make_user(shop, "owner")))
    features = app.extensions["bayline.features"]
    listed = re.findall(r'<li class="feature" data-feature="([^"]+)">', page)
    assert set(listed) == set(features)  # every installed feature, nothing else
    with app.app_context():
        from bayline.db import get_session
        from bayline.tenants.models import Shop
        plan = get_session().get(Shop, shop.id).plan.feature_keys
    assert plan - set(features), "the starter plan names features this build does not install"
    for key in plan - set(features):  # e.g. csi, scheduling: on the plan, not installed
        assert f'data-feature="{key}"' not in page
    sms = page[page.index('data-feature="sms"'):]
    sms = sms[:sms.index("</li>")]
    assert features["sms"].description in html.unescape(sms) and "In your plan" in sms and ">On<" in sms
    assert "quotes" not in plan
    row = page[page.index('data-feature="quotes"'):]
    row = row[:row.index("</li>")]
    assert "Not in your plan" in row and "Switch on" not in row and "Switch off" not in row


def test_setting_def_groups_and_choice_words(app):
    with app.app_context():
        assert settings_registry.group_of(SettingDef("widget.colour", "Colour")) == "Widget"
        assert settings_registry.group_of(SettingDef("x.y", "Y", feature="sms")) == "Two-way SMS"
        assert settings_registry.group_of(SettingDef("x.y", "Y", group="Look", feature="sms")) == "Look"
    defn = SettingDef("widget.size", "Size", "choice", "big_one", ("big_one", "s"), choice_labels=("Big", "Small"))
    assert defn.choice_label("s") == "Small"
    assert SettingDef("w.k", "K", "choice", "a_b", ("a_b",)).choice_label("a_b") == "A b"
    with pytest.raises(ValueError, match="choice_labels"):
        SettingDef("widget.size", "Size", "choice", "s", ("s", "m"), choice_labels=("Small",))
    with pytest.raises(ValueError, match="message template"):
        SettingDef("widget.hello", "Hello", "str", message_template=True)
