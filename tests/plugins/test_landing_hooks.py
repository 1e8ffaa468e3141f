"""The landing page hooks through their core callers (``bayline.landing``): ``landing_links`` answers only
from the plugins active for the shop, sorted, without unsafe or repeated URLs; ``landing_referral`` only
for a well-formed code and only with a same-origin path (never an open redirect)."""
from __future__ import annotations

import sys
import types

import pytest

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature, LandingLink


def _landspy() -> types.ModuleType:
    module = types.ModuleType("bayline_landspy")

    @hookimpl
    def register_features():
        return [Feature("landspy", "Landing spy")]

    @hookimpl
    def landing_links(shop):
        return [LandingLink("Later", "/plugins/landspy/b", order=90),
                LandingLink("First", "/plugins/landspy/a", kind="booking", order=5),
                LandingLink("Again", "/plugins/landspy/a", order=1),  # same url: dropped
                LandingLink("Odd kind", "https://example.com/x", kind="<script>", order=50),
                LandingLink("Script", "javascript:alert(1)"), LandingLink("Plain http", "http://example.com/"),
                LandingLink("Other host", "//evil.example/"), LandingLink("", "/plugins/landspy/empty")]

    @hookimpl
    def landing_referral(shop, code):
        return {"GOOD1": "/plugins/landspy/r/GOOD1", "AWAY": "https://evil.example/r", "SLASHES": "//evil.example/"
                }.get(code)

    for fn in (register_features, landing_links, landing_referral):
        setattr(module, fn.__name__, fn)
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("landspy", _landspy())]


def _ask(app, shop, fn, *args):
    from bayline.plugins.scope import for_shop

    with app.test_request_context("/"), for_shop(shop.id) as bound:
        return fn(bound, *args)


def test_landing_links_come_sorted_and_safe_from_active_plugins_only(app, make_shop, enable_plugin):
    from bayline import landing

    shop, other = make_shop(), make_shop()
    enable_plugin(shop, "landspy")
    mine = [link for link in _ask(app, shop, landing.links) if link.url.startswith(("/plugins/landspy", "https://ex"))]
    assert mine == [LandingLink("First", "/plugins/landspy/a", "booking", 5),
                    LandingLink("Odd kind", "https://example.com/x", "link", 50),
                    LandingLink("Later", "/plugins/landspy/b", "link", 90)]
    assert not [link for link in _ask(app, other, landing.links) if "landspy" in link.url]


def test_landing_referral_is_a_same_origin_path_or_nothing(app, make_shop, enable_plugin):
    from bayline import landing

    shop, other = make_shop(), make_shop()
    enable_plugin(shop, "landspy")
    assert _ask(app, shop, landing.referral, "GOOD1") == "/plugins/landspy/r/GOOD1"
    for code in ("AWAY", "SLASHES", "UNKNOWN", "", "GOOD1/../x", "x" * 41, "<b>"):
        assert _ask(app, shop, landing.referral, code) is None
    assert _ask(app, other, landing.referral, "GOOD1") is None  # not active for that shop
