"""The claim resolver: which claim (and which of its two threads) an email belongs to, with the
reason shown to staff. Signals, strongest first:

1. ``reply_token``: our own reply address ``reply+<signed token>@...`` among the recipients (a token
   of another shop, or a forged one, is ignored and said so);
2. ``headers``: In-Reply-To / References naming mail we sent or stored on a claim;
3. ``thread``: the provider's conversation (Gmail threadId, Graph conversationId) of mail already on
   a claim;
4. ``link``: a thread or sender + subject that staff re-linked (re-linking teaches this rule);
5. ``identifier``: the carrier claim number, RO number, VIN (check digit valid) or plate of one open
   claim in the subject or text;
6. ``participants``: the sender is the customer or adjuster of exactly one open claim (several:
   the normalised subject of earlier mail decides).

Nothing matches: the shop inbox (claim None). Everything is looked up in the current shop only (the
tenant-scoped session), so another shop's customers, claims and tokens never match.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from bayline.plugin_api import Claim, current_tenant_id, get_session

from .models import EmailLink, EmailMessage
from .parsing import Parsed, normalise_subject
from .tokens import find_tokens

VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")
_TRANSLIT = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
             **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
             **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


@dataclass
class Match:
    claim: Claim | None
    audience: str
    signal: str | None
    reason: str
    notes: list[str]


def vin_valid(vin: str) -> bool:
    """The North American VIN check digit (position 9, 49 CFR 565.15)."""
    vin = vin.upper()
    if len(vin) != 17 or any(c not in _TRANSLIT for c in vin):
        return False
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


def _open_claims():
    return select(Claim).where(Claim.archived_at.is_(None))


def audience_for(claim: Claim, sender: str, default: str = "adjuster") -> str:
    if claim.customer_email and sender == claim.customer_email.lower():
        return "customer"
    if claim.adjuster_email and sender == claim.adjuster_email.lower():
        return "adjuster"
    return default


def _by_identifier(text: str) -> tuple[Claim, str] | None:
    session = get_session()
    upper = text.upper()
    found: dict[int, tuple[Claim, str]] = {}
    words = set(re.findall(r"[A-Z0-9][A-Z0-9-]{3,}", upper))
    for vin in VIN.findall(upper):
        if vin_valid(vin):
            for claim in session.scalars(_open_claims().where(func.upper(Claim.vin) == vin)):
                found.setdefault(claim.id, (claim, f"VIN {vin} in the message"))
    if words:
        for claim in session.scalars(_open_claims().where(or_(
                func.upper(Claim.insurer_claim_number).in_(words), func.upper(Claim.number).in_(words)))):
            if claim.insurer_claim_number and claim.insurer_claim_number.upper() in words:
                found.setdefault(claim.id, (claim, f"carrier claim number {claim.insurer_claim_number} in the message"))
            else:
                found.setdefault(claim.id, (claim, f"RO number {claim.number} in the message"))
    plates = set(re.findall(r"\bPLATE\s*(?:#|NO\.?|NUMBER)?\s*:?\s*([A-Z0-9-]{2,10})\b", upper))
    for plate in plates:
        for claim in session.scalars(_open_claims().where(func.upper(Claim.plate) == plate.replace("-", ""))):
            found.setdefault(claim.id, (claim, f"plate {claim.plate} in the message"))
    return next(iter(found.values())) if len(found) == 1 else None


def resolve(parsed: Parsed, recipients: list[str] | None = None, provider_thread: str | None = None) -> Match:
    session = get_session()
    shop_id = current_tenant_id()
    notes: list[str] = []
    sender = parsed.from_addr
    # 1. our reply address
    addresses = [*(recipients or []), *parsed.to_addrs, *parsed.headers.values()]
    for token in find_tokens(*addresses):
        if token is None:
            notes.append("a reply address with a bad signature was ignored")
            continue
        if token.shop_id != shop_id:
            notes.append("a reply address of another shop was ignored")
            continue
        claim = session.get(Claim, token.claim_id)
        if claim is not None:
            return Match(claim, token.audience, "reply_token",
                         f"sent to this claim's reply address ({token.audience} thread)", notes)
    # 2. threading headers of mail we sent or stored
    if parsed.known_ids:
        rows = session.scalars(select(EmailMessage).where(EmailMessage.message_id.in_(parsed.known_ids),
                                                          EmailMessage.claim_id.is_not(None))).all()
        by_id = {r.message_id: r for r in rows}
        for mid in parsed.known_ids:
            row = by_id.get(mid)
            if row is not None:
                claim = session.get(Claim, row.claim_id)
                if claim is not None:
                    return Match(claim, row.audience, "headers",
                                 f"a reply to “{row.subject[:80]}” on this claim (In-Reply-To/References)", notes)
    # 3. the provider's conversation, already on a claim
    if provider_thread:
        row = session.scalars(select(EmailMessage).where(EmailMessage.provider_thread == provider_thread[:300],
                                                         EmailMessage.claim_id.is_not(None))
                              .order_by(EmailMessage.id.desc())).first()
        claim = session.get(Claim, row.claim_id) if row is not None else None
        if row is not None and claim is not None:
            return Match(claim, row.audience, "thread",
                         f"in the mailbox's conversation of “{row.subject[:80]}” on this claim", notes)
    # 4. what re-linking taught
    keys = [("thread", parsed.thread_root), ("sender_subject", f"{sender}|{normalise_subject(parsed.subject)}")]
    for kind, key in keys:
        link = session.scalars(select(EmailLink).where(EmailLink.kind == kind, EmailLink.key == key[:600])).first()
        if link is not None:
            claim = session.get(Claim, link.claim_id)
            if claim is not None:
                what = "this conversation" if kind == "thread" else "this sender and subject"
                return Match(claim, link.audience, "link", f"staff filed {what} on this claim before", notes)
    # 5. identifiers in subject or text
    hit = _by_identifier(f"{parsed.subject}\n{parsed.new_text[:20000]}")
    if hit is not None:
        claim, why = hit
        return Match(claim, audience_for(claim, sender), "identifier", why, notes)
    # 6. participants of one open claim (+ the normalised subject among several)
    if sender:
        claims = session.scalars(_open_claims().where(or_(func.lower(Claim.customer_email) == sender,
                                                          func.lower(Claim.adjuster_email) == sender))).all()
        if len(claims) > 1:
            subject = normalise_subject(parsed.subject)
            earlier = {r.claim_id for r in session.scalars(select(EmailMessage).where(
                EmailMessage.claim_id.in_([c.id for c in claims]))) if normalise_subject(r.subject) == subject}
            claims = [c for c in claims if c.id in earlier]
            if len(claims) == 1:
                claim = claims[0]
                return Match(claim, audience_for(claim, sender), "participants",
                             f"from {sender}, on this open claim with the same subject", notes)
        elif len(claims) == 1:
            claim = claims[0]
            who = "customer" if audience_for(claim, sender) == "customer" else "adjuster"
            return Match(claim, audience_for(claim, sender), "participants",
                         f"from the claim's {who} ({sender}), the only open claim with them", notes)
    return Match(None, "customer", None, "no claim matched: in the shop inbox", notes)
