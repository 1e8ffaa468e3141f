"""Helpers for portal tests."""
from __future__ import annotations

import pytest

from bayline import settings_registry
from bayline.events import commit
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

csrf_from = csrf_token


@pytest.fixture
def set_setting(app):
    """``set_setting(shop, key, value)`` stores a shop setting (platform role)."""

    def factory(shop, key, value):
        with in_tenant(app, shop.id) as session:
            settings_registry.set_values(shop.id, {key: value}, role=None)
            commit(session)

    return factory
