"""Our SMTP endpoint (aiosmtpd) for the forwarding address ``<shop slug>@<inbound domain>`` and our
reply addresses ``reply+<token>@<inbound domain>``.

Recipients are checked at RCPT time: another domain, an unknown shop, a shop without the email
feature or a reply token that does not verify is refused there (550), so nothing is stored and the
sender's server tells them. A message is stored, through :func:`service.ingest`, once per shop it was
addressed to, with only that shop's recipients. The size limit (``data_size_limit``, 50 MB by default:
a 30 MB attachment fits once base64-encoded; the core files pipeline then applies the shop's file
limit) is enforced by aiosmtpd itself (552)."""
from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bayline.plugin_api import Shop, for_shop, get_session, is_feature_active, unscoped

from . import service
from .tokens import find_tokens, inbound_domain

log = logging.getLogger(__name__)
DATA_SIZE_LIMIT = 50 * 1024 * 1024


def shop_for(address: str) -> int | None:
    """The shop an inbound recipient belongs to, or None (refused)."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != inbound_domain() or not local:
        return None
    session = get_session()
    if local.startswith("reply+"):
        tokens = find_tokens(address.lower())
        token = tokens[0] if tokens else None
        if token is None:
            return None
        with unscoped(session):
            shop = session.get(Shop, token.shop_id)
    else:
        with unscoped(session):
            shop = session.query(Shop).filter(Shop.slug == local).first()
    if shop is None or not is_feature_active(shop, "email"):
        return None
    return shop.id


class Handler:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        with self.app.app_context():
            shop_id = shop_for(address)
        if shop_id is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self.app.app_context():
            per_shop: dict[int, list[str]] = {}
            for rcpt in envelope.rcpt_tos:
                shop_id = shop_for(rcpt)
                if shop_id is not None:
                    per_shop.setdefault(shop_id, []).append(rcpt.lower())
            try:
                for shop_id, rcpts in per_shop.items():
                    with for_shop(shop_id):
                        service.ingest(raw, recipients=rcpts)
            except Exception:
                log.exception("inbound mail not stored")
                get_session().rollback()
                return "451 4.3.0 Temporary failure, try again later"
        return "250 Message accepted"


def controller(app: Any, host: str = "127.0.0.1", port: int = 8025,
               data_size_limit: int = DATA_SIZE_LIMIT) -> Controller:
    """An aiosmtpd controller (``start()`` / ``stop()``) serving our inbound addresses."""
    with app.app_context():
        domain = inbound_domain()
    return Controller(Handler(app), hostname=host, port=port, data_size_limit=data_size_limit,
                      server_hostname=domain)
