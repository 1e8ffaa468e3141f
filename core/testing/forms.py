"""Form helpers for tests of staff and customer pages (and of plugins' pages)."""
from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: Any, url: str | None = None) -> str:
    """The CSRF token of a form: ``page`` is HTML (str/bytes), a test response, or a test client
    together with the ``url`` to GET. Fails (AssertionError) when the page has no form token."""
    if url is not None:
        page = page.get(url)
    if hasattr(page, "get_data"):
        page = page.get_data(as_text=True)
    if isinstance(page, bytes):
        page = page.decode()
    match = _TOKEN.search(page)
    assert match, f"no CSRF token in {url or 'the page'}"
    return match.group(1)
