"""Fixtures shared by every test folder.

``chromium``: Debian's Chromium driven by Playwright, one per test session (worker). Playwright's sync
API runs an event loop for as long as it is open, so every browser test (tests/browser/,
tests/photos/test_browser.py) shares this one instead of starting its own."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# Property tests never time an example: on a busy machine a 200 ms deadline fails for no bug.
settings.register_profile("bayline", deadline=None)
settings.load_profile("bayline")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it with apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
