"""Customer verification before the portal shows anything: last name + claim number (+ shop PIN)."""
from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import timedelta

from sqlalchemy import func, select, update

from bayline import settings_registry
from bayline.claims.models import Claim
from bayline.db import get_session, utcnow

from .models import PortalAttempt, PortalToken

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def normalise(value: str | None) -> str:
    """Case-, accent-, space- and punctuation-insensitive form ("O'Brien-Smith" == "obriensmith").

    Letters and digits of every script are kept ("Иванов", "李", "Đặng"): dropping non-Latin ones
    would leave some customers' names empty, and they could never get in."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]", "", text.casefold())


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def mode(shop_id: int) -> str:
    """off | name_claim | name_claim_pin (a PIN mode without a PIN set asks name + claim only)."""
    values = settings_registry.get_all(shop_id)
    chosen = values["portal.verification"]
    if chosen == "name_claim_pin" and not str(values["portal.pin"] or "").strip():
        return "name_claim"
    return chosen


def digits(value: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value or "") if c.isdigit())


def same_claim_number(typed: str | None, number: str) -> bool:
    """"RO-24204" matches "RO-24204", "ro 24204" and the bare "24204" (what customers type from
    the paperwork); digits alone count only when the claim number has digits."""
    if _same(normalise(typed), normalise(number)):
        return True
    wanted = digits(number)
    return bool(wanted) and _same(digits(typed), wanted) and normalise(typed) == digits(typed)


def check(claim: Claim, last_name: str | None, claim_number: str | None, pin: str | None) -> bool:
    ok = _same(normalise(last_name), normalise(claim.customer_last_name))
    ok = same_claim_number(claim_number, claim.number) and ok
    if mode(claim.tenant_id) == "name_claim_pin":
        shop_pin = normalise(str(settings_registry.get(claim.tenant_id, "portal.pin")))
        ok = _same(normalise(pin), shop_pin) and ok
    return ok


def failures(token: PortalToken) -> int:
    return get_session().scalar(select(func.count(PortalAttempt.id)).where(
        PortalAttempt.token_id == token.id, PortalAttempt.ok.is_(False),
        PortalAttempt.at >= utcnow() - WINDOW)) or 0


def locked(token: PortalToken) -> bool:
    return failures(token) >= MAX_FAILURES


def record(token: PortalToken, ok: bool, ip: str | None) -> PortalAttempt:
    attempt = PortalAttempt(tenant_id=token.tenant_id, token_id=token.id, claim_id=token.claim_id, ok=ok,
                            ip=(ip or "")[:45] or None, at=utcnow())
    get_session().add(attempt)
    return attempt


def attempt(token: PortalToken, claim: Claim, last_name: str | None, claim_number: str | None,
            pin: str | None, ip: str | None) -> bool | None:
    """One verification attempt, serialised per link: True/False for the answer, None when the link
    is locked. The token row is written first (a row lock on PostgreSQL, the write lock on SQLite),
    so concurrent attempts queue up and each counts the failures committed before it: ten parallel
    wrong answers record exactly :data:`MAX_FAILURES` (six were recorded for a limit of five before).
    The caller commits."""
    session = get_session()
    session.execute(update(PortalToken).where(PortalToken.id == token.id)
                    .values(last_used_at=PortalToken.last_used_at).execution_options(synchronize_session=False))
    if locked(token):
        return None
    ok = check(claim, last_name, claim_number, pin)
    record(token, ok, ip)
    return ok
