"""Our reply address, ``reply+<token>@<inbound domain>``: the token names the shop, the claim and the
thread's audience, signed (HMAC-SHA256 under a key derived from the app's secret). Lowercase hex
only, so mail systems that fold the local part's case keep it intact. Never stored: it is
recomputed and compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from flask import current_app

from bayline.plugin_api import plugin_config

TOKEN = re.compile(r"\breply\+([0-9]+)\.([0-9]+)\.([ac])\.([0-9a-f]{20})@", re.IGNORECASE)
_AUDIENCE = {"a": "adjuster", "c": "customer"}


@dataclass(frozen=True)
class ReplyToken:
    shop_id: int
    claim_id: int
    audience: str


def inbound_domain() -> str:
    """The platform's inbound mail domain (``BAYLINE_PLUGIN_EMAIL_INBOUND_DOMAIN``, e.g. in.bayline.app)."""
    return (plugin_config("email").get_str("inbound_domain") or "in.bayline.invalid").lower()


def _mac(shop_id: int, claim_id: int, audience: str) -> str:
    key = hashlib.sha256(b"bayline_email.reply:" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, f"{shop_id}.{claim_id}.{audience}".encode(), hashlib.sha256).hexdigest()[:20]


def reply_address(shop_id: int, claim_id: int, audience: str) -> str:
    code = audience[0]
    return f"reply+{shop_id}.{claim_id}.{code}.{_mac(shop_id, claim_id, code)}@{inbound_domain()}"


def find_tokens(*texts: str) -> list[ReplyToken | None]:
    """Every reply token in ``texts`` (addresses, headers): a ReplyToken when its signature holds, None
    for a forged or damaged one."""
    out: list[ReplyToken | None] = []
    for text in texts:
        for shop, claim, code, mac in TOKEN.findall(text or ""):
            code = code.lower()
            good = hmac.compare_digest(mac.lower(), _mac(int(shop), int(claim), code))
            out.append(ReplyToken(int(shop), int(claim), _AUDIENCE[code]) if good else None)
    return out
