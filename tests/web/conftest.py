"""Helpers for console tests."""
from __future__ import annotations

import pytest

from bayline.testing.forms import csrf_token


def csrf(client, url="/console/"):
    return csrf_token(client, url)


@pytest.fixture
def staff(make_shop, make_user, client_for):
    """``staff(role="owner", shop=None)`` → (shop, user, logged-in client, CSRF token)."""

    def factory(role="owner", shop=None):
        shop = shop or make_shop()
        user = make_user(shop, role)
        client = client_for(user, shop)
        return shop, user, client, csrf(client)

    return factory
