"""Helpers for console tests."""
from __future__ import annotations

import re

import pytest


def csrf(client, url="/console/"):
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def staff(make_shop, make_user, client_for):
    """``staff(role="owner", shop=None)`` → (shop, user, logged-in client, CSRF token)."""

    def factory(role="owner", shop=None):
        shop = shop or make_shop()
        user = make_user(shop, role)
        client = client_for(user, shop)
        return shop, user, client, csrf(client)

    return factory
