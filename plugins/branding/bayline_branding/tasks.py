"""Find my repair, done out of the request: match the claim, send its link to the contact on file."""
from __future__ import annotations

import logging
import re
import secrets

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import Claim, Refused, commit, for_shop, get_session, outbox, phones

log = logging.getLogger(__name__)


def _norm(value: str | None) -> str:
    return re.sub(r"[\W_]", "", (value or "").casefold())


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def matches(claim: Claim, number: str, last_name: str, phone: str) -> bool:
    typed = _norm(number)
    wanted = _norm(claim.number)
    same_number = typed == wanted or (bool(_digits(claim.number)) and typed == _digits(claim.number)
                                      and typed.isdigit())
    if not same_number:
        return False
    if last_name and _norm(last_name) == _norm(claim.customer_last_name) and _norm(last_name):
        return True
    if phone and claim.customer_mobile:
        try:
            return phones.to_e164(phone) == claim.customer_mobile
        except ValueError:
            return False
    return False


@shared_task(name="bayline_branding.find_repair")
def find_repair(shop_id: int, number: str, last_name: str, phone: str) -> str:
    """Send the portal link of the claim matching the form, once; "sent", "refused" or "no match"."""
    with for_shop(shop_id) as shop:
        digits = _digits(number)
        candidates = list(get_session().scalars(select(Claim).where(Claim.archived_at.is_(None))
                                                .where(Claim.number.ilike(f"%{digits[-6:]}%") if digits
                                                       else Claim.number.isnot(None)).limit(200)))
        claim = next((c for c in candidates if matches(c, number, last_name, phone)), None)
        if claim is None or not claim.customer_mobile:
            return "no match"
        body = f"{shop.name}: here is your link to follow your repair {claim.number}: {{portal_link}}"
        try:
            outbox.enqueue(channel="sms", purpose="transactional", recipient=claim.customer_mobile, body=body,
                           idempotency_key=f"branding-find:{claim.id}:{secrets.token_hex(8)}", claim=claim,
                           kind="requested", thread=False)
        except Refused as refused:
            get_session().rollback()
            log.info("find my repair for claim %s refused: %s", claim.id, refused.code)
            return "refused"
        commit()
        return "sent"
