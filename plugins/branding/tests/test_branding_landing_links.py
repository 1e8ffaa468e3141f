"""Links other plugins put on the landing pages (hook ``landing_links``, issue 20 item 4): scheduling's
estimate request while ``scheduling`` is active, CSI's review links (Google by Place ID, never Yelp)
while ``reviews`` is active; on /p/<slug> and beside each location on /g/<slug>. Find my repair still
answers the same bytes for a match and a miss."""
from __future__ import annotations

import re

from test_branding_landing import _comparable, _find

PLACE = "ChIJN1t_tDeuEmsRUsoyG83frY4"
GOOGLE = f"https://search.google.com/local/writereview?placeid={PLACE}"


def _toggle(app, shop, feature, enabled):
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), feature, enabled)
        commit(session)


def _links(html):
    return re.findall(r'<a class="landing-link (\w+)" href="([^"]+)"[^>]*>([^<]+)</a>', html)


def test_estimate_and_review_links_show_while_their_features_are_active(app, shop_on, set_setting):
    pro = shop_on("professional", name="Harbor Collision")
    set_setting(pro.shop, "csi.google_place_id", PLACE)
    set_setting(pro.shop, "csi.facebook_review_url", "https://www.facebook.com/harbor/reviews")
    client = app.test_client()
    html = client.get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    estimate = f"/plugins/scheduling/public/estimate/{pro.shop.slug}"
    assert _links(html) == [("estimate", estimate, "Request an estimate"),
                            ("review", "https://www.facebook.com/harbor/reviews", "Review us on Facebook"),
                            ("review", GOOGLE, "Review us on Google")]
    assert "yelp" not in html.lower()
    assert client.get(estimate).status_code == 200  # the link opens the estimate request

    _toggle(app, pro.shop, "scheduling", False)
    html = client.get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    assert "Request an estimate" not in html and "/plugins/scheduling/" not in html
    assert [label for *_, label in _links(html)] == ["Review us on Facebook", "Review us on Google"]

    _toggle(app, pro.shop, "reviews", False)
    html = client.get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    assert _links(html) == [] and "writereview" not in html and "facebook.com" not in html


def test_no_review_link_without_a_place_id_and_the_brands_own_page_once(app, shop_on, set_setting):
    pro = shop_on("professional")
    html = app.test_client().get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    assert [kind for kind, *_ in _links(html)] == ["estimate"]  # reviews on, nothing configured: no link
    pro.api.put("/api/v1/plugins/branding/brand", json={"review_url": "https://example.com/harbor/reviews"})
    set_setting(pro.shop, "csi.google_place_id", PLACE)
    html = app.test_client().get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    assert ("review", GOOGLE, "Review us on Google") in _links(html)
    assert ("review", "https://example.com/harbor/reviews", "Leave us a review") in _links(html)


def test_group_landing_shows_each_locations_own_links(app, shop_on, make_shop, set_setting):
    from bayline.tenants.models import Group
    from bayline.testing.plugin import in_tenant

    first = shop_on("enterprise", name="Harbor Downtown")
    second = make_shop(plan="enterprise", name="Harbor Quincy", group_id=first.shop.group_id)
    set_setting(first.shop, "csi.google_place_id", PLACE)
    _toggle(app, second, "scheduling", False)
    with in_tenant(app) as session:
        group_slug = session.get(Group, first.shop.group_id).slug
    html = app.test_client().get(f"/g/{group_slug}").get_data(as_text=True)
    cards = html.split('<section class="card location">')[1:]
    downtown = next(c for c in cards if "Harbor Downtown" in c)
    quincy = next(c for c in cards if "Harbor Quincy" in c)
    assert _links(downtown) == [("estimate", f"/plugins/scheduling/public/estimate/{first.shop.slug}",
                                 "Request an estimate"), ("review", GOOGLE, "Review us on Google")]
    assert _links(quincy) == []


def test_find_my_repair_answers_the_same_bytes_with_links_on_the_page(app, shop_on, make_claim, set_setting,
                                                                      sms_outbox):
    pro = shop_on("professional")
    set_setting(pro.shop, "csi.google_place_id", PLACE)
    make_claim(pro.shop, number="RO-51515", customer_last_name="Reyes", customer_mobile="+16175550100")
    client = app.test_client()
    assert "Review us on Google" in client.get(f"/p/{pro.shop.slug}").get_data(as_text=True)
    hit = _find(client, pro.shop.slug, claim_number="51515", last_name="Reyes")
    miss = _find(client, pro.shop.slug, claim_number="51515", last_name="Smith")
    assert hit.status_code == 200 and _comparable(hit) == _comparable(miss) and len(sms_outbox) == 1
    short = _find(client, pro.shop.slug, claim_number="RO-1")  # the inline error keeps the links
    assert short.status_code == 422 and "Review us on Google" in short.get_data(as_text=True)
