"""``channel_ready``: a failing implementation means "not ready", never a failed page (the SMS
plugin's answer is covered in test_links_v2: the claim page's button and "text me a new link")."""
from __future__ import annotations

from typing import Any

from bayline import hookimpl
from bayline.messages.channels import channel_ready
from bayline.testing.plugin import in_tenant


class _Broken:
    @hookimpl
    def channel_ready(self, shop: Any, channel: str) -> bool | None:
        raise RuntimeError("provider library missing")


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
