"""One design layer for console and portal (issue 16 item 1): both load design.css first, and the
colour/spacing/type tokens are defined there only, so a colour changes in one place."""
from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
TOKEN = re.compile(r"--[a-z0-9-]+\s*:")


def _root_tokens(css: str) -> set[str]:
    tokens: set[str] = set()
    for block in re.findall(r":root\s*\{([^}]*)\}", css):
        tokens |= {t.rstrip(": ").strip() for t in TOKEN.findall(block)}
    return tokens


def test_tokens_live_in_the_shared_layer_only():
    shared = _root_tokens((STATIC / "design.css").read_text())
    assert {"--ink", "--accent", "--err", "--s4", "--radius", "--font"} <= shared
    for page_css in ("console.css", "portal.css"):
        own = _root_tokens((STATIC / page_css).read_text())
        # the portal may set its own reading size; no page sheet defines a colour or spacing token
        assert own <= {"--font"}, f"{page_css} defines tokens of its own: {sorted(own - {'--font'})}"


def test_console_and_portal_pages_load_the_design_layer_first(app, portal_client, make_shop, make_claim):
    client = app.test_client()
    console = client.get("/login").get_data(as_text=True)
    portal = portal_client(make_claim(make_shop())).get("/c/s/").get_data(as_text=True)
    for page, own in ((console, "console.css"), (portal, "portal.css")):
        assert "design.css" in page and own in page
        assert page.index("design.css") < page.index(own)
    assert client.get("/static/design.css").status_code == 200
