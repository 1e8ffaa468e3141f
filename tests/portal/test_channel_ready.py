"""The ``channel_ready`` hook decides which sending channels the claim page offers ("Email link",
"Text link to customer"); a channel's send carries that channel's link and changes no other."""
from __future__ import annotations

import re
from typing import Any

import pytest

from bayline import Feature, hookimpl
from bayline.messages.channels import channel_ready
from bayline.testing.plugin import in_tenant

from .conftest import csrf_from

SENT: list[dict[str, Any]] = []


class _Mailer:
    @hookimpl
    def register_features(self) -> list[Feature]:
        return [Feature("mailerprobe", "Email probe")]

    @hookimpl
    def channel_ready(self, shop: Any, channel: str) -> bool | None:
        return True if channel == "email" else None

    @hookimpl
    def send_email(self, shop: Any, to: str, subject: str, body: str, idempotency_key: str) -> dict[str, Any]:
        SENT.append({"to": to, "subject": subject, "body": body})
        return {"status": "sent"}


class _Broken:
    @hookimpl
    def channel_ready(self, shop: Any, channel: str) -> bool | None:
        raise RuntimeError("provider library missing")


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    SENT.clear()
    return [("mailerprobe", _Mailer())]


def test_email_link_is_offered_and_sends_the_email_channels_link(app, make_shop, make_claim, make_user, client_for,
                                                                 set_setting, enable_plugin):
    shop = make_shop(plan="starter")
    set_setting(shop, "portal.verification", "off")
    claim = make_claim(shop, customer_email="dana@example.com")
    staff = client_for(make_user(shop, role="advisor"), shop)
    assert "Email link" not in staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)  # not on the plan
    enable_plugin(shop, "mailerprobe")
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Email link" in page
    r = staff.post(f"/console/claims/{claim.id}/portal-link/send", data={"csrf_token": csrf_from(page),
                                                                         "channel": "email"})
    assert r.status_code == 302
    [mail] = SENT
    url = re.search(r"http://localhost(/c/[A-Za-z0-9_-]+)", mail["body"]).group(1)
    assert mail["to"] == "dana@example.com" and app.test_client().get(url).status_code == 303
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 303  # the staff copy too
    # a channel nobody provides is refused, and nothing is sent
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert staff.post(f"/console/claims/{claim.id}/portal-link/send",
                      data={"csrf_token": csrf_from(page), "channel": "fax"}).status_code == 409
    assert len(SENT) == 1


def test_a_failing_implementation_means_not_ready(app, make_shop):
    from bayline.tenants.models import Shop

    shop = make_shop()
    registry = app.extensions["bayline.plugins"]
    registry.pm.register(_Broken(), name="brokenprobe")
    try:
        with in_tenant(app, shop.id) as session:
            hooks = registry.hooks_for(frozenset())
            assert channel_ready(session.get(Shop, shop.id), "email", hooks) is False
    finally:
        registry.pm.unregister(name="brokenprobe")
