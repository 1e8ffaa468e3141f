"""Fixtures for photo and upload tests: a shop with staff, a claim, its portal session, a spy plugin
that records delivered events, and helpers to post files."""
from __future__ import annotations

import io
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

EVENTS: list[Any] = []


def _spy_module() -> types.ModuleType:
    module = types.ModuleType("bayline_photospy")

    @hookimpl
    def register_features():
        return [Feature("photospy", "Test spy")]

    @hookimpl
    def on_event(event):
        EVENTS.append(event)

    module.register_features = register_features
    module.on_event = on_event
    sys.modules.setdefault("bayline_photospy", module)
    return module


@pytest.fixture
def extra_plugins():
    return [("photospy", _spy_module())]


@pytest.fixture
def events():
    EVENTS.clear()
    yield EVENTS
    EVENTS.clear()


csrf_from = csrf_token


@dataclass
class Bay:
    shop: Any
    owner: Any
    tech: Any
    claim: Any
    staff: Any  # logged-in owner client
    staff_csrf: str

    def upload(self, files: list[tuple[bytes, str]], client: Any = None, csrf: str | None = None,
               json: bool = True, **form: str) -> Any:
        data: dict[str, Any] = {"csrf_token": csrf or self.staff_csrf, **form,
                                "files": [(io.BytesIO(b), name) for b, name in files]}
        headers = {"Accept": "application/json"} if json else {}
        return (client or self.staff).post(f"/console/claims/{self.claim.id}/photos", data=data, headers=headers,
                                           content_type="multipart/form-data")


@pytest.fixture
def bay(app, make_shop, make_user, make_claim, client_for, enable_plugin) -> Bay:
    shop = make_shop()
    enable_plugin(shop, "photospy")
    owner = make_user(shop)
    tech = make_user(shop, role="technician")
    claim = make_claim(shop)
    staff = client_for(owner, shop)
    page = staff.get(f"/console/claims/{claim.id}")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return Bay(shop, owner, tech, claim, staff, csrf_from(page.get_data(as_text=True)))


def portal_csrf(client) -> str:
    page = client.get("/c/s/")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def customer_upload(client, files: list[tuple[bytes, str]] | list[tuple[bytes, str, str]], csrf: str,
                    json: bool = True, **form: str) -> Any:
    items = [(io.BytesIO(f[0]), f[1], f[2]) if len(f) == 3 else (io.BytesIO(f[0]), f[1]) for f in files]
    data = {"csrf_token": csrf, **form, "files": items}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/c/s/uploads", data=data, headers=headers, content_type="multipart/form-data")


def count_rows(app, shop_id: int, model: Any) -> int:
    with in_tenant(app, shop_id) as session:
        return session.scalar(select(func.count(model.id)))


def stored_keys(app) -> list[str]:
    from bayline.storage import get_storage

    with app.app_context():
        return list(get_storage().keys())



from tests.storage.conftest import s3_endpoint, s3_url  # noqa: E402,F401  (the real S3 server fixtures)
