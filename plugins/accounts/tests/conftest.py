"""Fixtures of the accounts plugin's tests: an Elite-like shop with the feature granted, texting
(``sms_outbox``) and an email channel stand-in (a plugin implementing the core ``deliver`` and
``channel_ready`` hooks for ``email``, capturing what it is handed), and code readers."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from bayline.plugin_api import hookimpl

import bayline_accounts  # noqa: F401  (not installed: the run fails, never skips)

NAME = "accounts"
MAILS: list[dict[str, Any]] = []


class MailCapture:
    """The email channel's ``deliver`` hook, recording into ``MAILS`` (registered always-active)."""

    @hookimpl
    def deliver(self, outbox_item: Any, body: str, provider_key: str) -> Any:
        if outbox_item.channel != "email":
            return None
        MAILS.append({"to": outbox_item.recipient, "body": body, "subject": outbox_item.subject})
        return {"state": "delivered", "provider_id": f"mail-{len(MAILS)}"}

    @hookimpl
    def channel_ready(self, shop: Any, channel: str) -> Any:
        return True if channel == "email" else None


@pytest.fixture
def mails(app: Any) -> Any:
    MAILS.clear()
    registry = app.extensions["bayline.plugins"]
    registry.register(MailCapture(), "accounts_test_mail", core=True)
    yield MAILS
    registry.unregister("accounts_test_mail")


@pytest.fixture
def shop(make_shop: Callable, enable_plugin: Callable, sms_outbox: Any) -> Any:
    shop = make_shop(name="Harbor Collision")
    enable_plugin(shop, NAME)
    return shop


def code_in(text: str) -> str:  # the test modules keep their own copy (no import from conftest)
    found = re.findall(r"\b(\d{6})\b", text)
    assert found, text
    return found[-1]


@pytest.fixture
def claim_account(sms_outbox: Any) -> Callable[..., Any]:
    """``claim_account(customer, via="mobile")``: ask for a code, read it from the text, type it."""

    def go(customer: Any, via: str = "mobile", code: str | None = None) -> Any:
        from bayline.testing.forms import csrf_token

        token = csrf_token(customer, "/c/s/accounts/")
        sent = customer.post("/c/s/accounts/code", data={"via": via, "csrf_token": token})
        assert sent.status_code == 303, sent.get_data(as_text=True)
        if code is None:
            code = code_in(sms_outbox[-1].body if via == "mobile" else MAILS[-1]["body"])
        return customer.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token})

    return go
