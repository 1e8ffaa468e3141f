"""Real-browser fixtures: Debian's Chromium (``/usr/bin/chromium``, installed by ``make test``) driven by
Playwright against the real app served by a threaded werkzeug server on a loopback port, on the test's
own cloned database. Screenshots go to ``test-artifacts/`` (gitignored)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

# ``chromium`` (the session's one browser) is in tests/conftest.py: a second Playwright in the same
# worker would fail ("Sync API inside the asyncio loop").
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 120_000  # ceiling of every explicit wait, for a loaded CI machine (a passing wait returns at once)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app on ``http://127.0.0.1:<free port>`` in a thread (one thread per request, so SSE streams
    and page loads run side by side)."""
    app.config["BAYLINE_SSE_HEARTBEAT"] = 1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A phone-size browser context (360 x 740, touch)."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def desktop(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


def log_in(page: Any, base: str, email: str, password: str = "correct-horse-42") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('production board')")


def consent_and_draw(page: Any) -> None:
    """On an e-sign document page: agree to sign electronically, then draw a zigzag signature on the pad
    with the pointer (the canvas only counts strokes)."""
    page.check("input[name=agree]")
    page.click("button:has-text('Continue')")
    pad = page.wait_for_selector("canvas#pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 20 + i * (box["width"] - 40) / 11,
                        box["y"] + box["height"] * (0.3 if i % 2 else 0.7), steps=3)
    page.mouse.up()
