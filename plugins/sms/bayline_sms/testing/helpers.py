"""Constants and small helpers shared by the SMS plugin's tests."""
from __future__ import annotations

from typing import Any

SHOP_NUMBER = "+16175550199"
CUSTOMER = "+16175550100"
OTHER_SHOP_NUMBER = "+16175550198"
SPARE_NUMBER = "+16175550197"
# numbers the stand-in's platform Telnyx account holds from the start (``TelnyxStandIn.inventory``)
PLATFORM_NUMBERS = (SHOP_NUMBER, OTHER_SHOP_NUMBER, SPARE_NUMBER)


def post_webhook(app: Any, body: str, headers: dict[str, str]) -> Any:
    """POST ``body`` to the webhook as Telnyx would (anonymous, no CSRF token)."""
    return app.test_client().post("/plugins/sms/webhook", data=body, headers=headers)
