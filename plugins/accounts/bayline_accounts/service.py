"""Accounts: claim one with a code sent to the claim's own contact, list every repair of that
contact, sessions (this device, everywhere), export and deletion.

Identity is a verified contact, never a name: a mobile (E.164) or an email (lower-cased) that was
on a claim and received a code that the customer typed back. The code is bound to the claim and the
contact it was sent to: a code sent for another claim, or to a contact that is no longer on the
claim, claims nothing. Codes: 6 digits from ``secrets``, only an HMAC (keyed by the app's secret) is
stored, 10 minutes, 5 tries each (every try is counted by one atomic UPDATE committed before the
comparison, so concurrent guesses never exceed it), at most ``CODES_PER_HOUR`` codes per claim, and
the routes are rate-limited per address as well.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, g, session
from sqlalchemy import and_, delete, func, or_, select, update

from bayline.plugin_api import (
    Claim,
    Refused,
    Shop,
    channel_ready,
    commit,
    emit,
    files,
    get_session,
    is_feature_active,
    message_templates,
    messages,
    outbox,
    phones,
    prefetched,
    shop_settings,
    tenant_scope,
    utcnow,
)

from .models import AccountsAccount, AccountsCode, AccountsContact, AccountsPasskey, AccountsSession

NAME = "accounts"
SESSION_KEY = "accounts"  # the Flask session entry: {"a": account, "s": its shop, "i": session row}
CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODES_PER_HOUR = 5
CODE_TEXT = "{shop_name}: your code to save your repairs to an account is {code}. It expires in 10 minutes."
KINDS = ("mobile", "email")
CHANNEL = {"mobile": "sms", "email": "email"}


def utc() -> Any:
    return utcnow()


# -- contacts -----------------------------------------------------------------------------


def contact_of(claim: Claim, kind: str) -> str | None:
    """The claim's contact of ``kind`` in its stored form (E.164 mobile, lower-cased email)."""
    if kind == "mobile" and claim.customer_mobile:
        try:
            return phones.to_e164(claim.customer_mobile)
        except ValueError:
            return None
    if kind == "email" and claim.customer_email:
        return claim.customer_email.strip().lower()
    return None


def masked(kind: str, value: str) -> str:
    if kind == "mobile":
        return f"mobile ending {value[-4:]}"
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}"


@dataclass(frozen=True)
class Option:
    kind: str
    label: str
    ready: bool


def options(claim: Claim, shop: Shop) -> list[Option]:
    """Where a code can go for this claim: its own mobile and email only."""
    found = []
    for kind in KINDS:
        value = contact_of(claim, kind)
        if value:
            found.append(Option(kind, masked(kind, value), channel_ready(shop, CHANNEL[kind])))
    return found


# -- scope: the shop, or the group's shops that share ------------------------------------------


def scope_ids(shop: Shop) -> list[int]:
    """Shops whose claims an account of ``shop`` lists: ``shop``, plus the other shops of its group
    when ``shop`` and they have ``accounts.group_history`` on (and the feature active)."""
    if not shop_settings(NAME, shop).get_bool("group_history"):
        return [shop.id]
    ids = [shop.id]
    for other in shop.group.shops:
        if other.id == shop.id or other.archived_at is not None:
            continue
        if is_feature_active(other, NAME) and shop_settings(NAME, other).get_bool("group_history"):
            ids.append(other.id)
    return ids


# -- codes ----------------------------------------------------------------------------------


def _hash(claim_id: int, kind: str, value: str, code: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"accounts-code:{claim_id}:{kind}:{value}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(claim: Claim, shop: Shop, kind: str) -> AccountsCode:
    """Send a fresh code to the claim's own ``kind`` contact through the outbox (transactional)."""
    if kind not in KINDS:
        raise Refused(422, "accounts_bad_contact", "Choose where to send the code.",
                      errors={"form": {"via": ["mobile or email"]}})
    value = contact_of(claim, kind)
    if value is None:
        raise Refused(422, "accounts_bad_contact", f"There is no {kind} on this repair; choose another.",
                      errors={"form": {"via": [f"no {kind} on this repair"]}})
    if not channel_ready(shop, CHANNEL[kind]):
        raise Refused(409, "accounts_channel_unavailable",
                      "The shop cannot send that way right now; choose another or call the shop.")
    db = get_session()
    recent = db.scalar(select(func.count(AccountsCode.id)).where(
        AccountsCode.claim_id == claim.id, AccountsCode.created_at >= utc() - timedelta(hours=1))) or 0
    if recent >= CODES_PER_HOUR:
        raise Refused(429, "accounts_too_many_codes", "Too many codes were asked for; try again in an hour.")
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utc()
    row = AccountsCode(claim_id=claim.id, kind=kind, value=value, code_hash=_hash(claim.id, kind, value, code),
                       created_at=now, expires_at=now + CODE_TTL, attempts=0)
    db.add(row)
    db.flush()
    commit()  # the code exists before it leaves
    body = message_templates.render(CODE_TEXT, {"shop_name": shop.name, "code": "{code}"})
    try:
        item, _ = outbox.enqueue(channel=CHANNEL[kind], purpose="transactional", recipient=value, body=body,
                                 subject=f"{shop.name}: your code" if kind == "email" else None,
                                 idempotency_key=f"accounts-code:{row.id}", claim=claim, kind="requested",
                                 thread=False, secret_fields={"code": code})
    except Refused as refused:  # opted out, consent revoked...: said without repeating the contact
        get_session().rollback()
        why = {"opted_out": "it opted out of messages from the shop",
               "consent_revoked": "messages to it were turned off"}.get(refused.code, "the shop cannot send to it")
        raise Refused(502, "accounts_code_not_sent",
                      f"The code could not be sent to your {masked(kind, value)}: {why}. Try the other way or "
                      "call the shop.") from None
    row = db.get(AccountsCode, row.id)
    row.outbox_item_id = item.id
    commit()
    if item.state == "failed":
        raise Refused(502, "accounts_code_not_sent", "The code could not be sent; try the other way or call the shop.")
    return row


def latest_code(claim: Claim) -> AccountsCode | None:
    return get_session().scalars(select(AccountsCode).where(AccountsCode.claim_id == claim.id)
                                 .order_by(AccountsCode.id.desc())).first()


def check_code(claim: Claim, typed: str | None) -> AccountsCode:
    """The claim's newest code, if ``typed`` is it and it is still good; each try counts first."""
    db = get_session()
    row = latest_code(claim)
    if row is None:
        raise Refused(409, "accounts_code_required", "Ask for a code first.")
    if row.used_at is not None:
        raise Refused(409, "accounts_code_used", "That code was already used; ask for a new one.")
    if utc() >= row.expires_at:
        raise Refused(422, "accounts_code_expired", "That code expired; ask for a new one.")
    taken = db.execute(update(AccountsCode).where(AccountsCode.id == row.id,
                                                  AccountsCode.attempts < CODE_MAX_ATTEMPTS,
                                                  AccountsCode.used_at.is_(None))
                       .values(attempts=AccountsCode.attempts + 1).execution_options(synchronize_session=False))
    commit()  # the try counts even when the request fails
    db.refresh(row)
    if taken.rowcount != 1:
        if row.used_at is not None:
            raise Refused(409, "accounts_code_used", "That code was already used; ask for a new one.")
        raise Refused(429, "accounts_code_locked", "Too many wrong codes. Ask for a new code.")
    given = "".join(ch for ch in (typed or "") if ch.isdigit())
    if len(given) != 6 or not hmac.compare_digest(row.code_hash, _hash(claim.id, row.kind, row.value, given)):
        left = CODE_MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise Refused(429, "accounts_code_locked", "Too many wrong codes. Ask for a new code.")
        raise Refused(422, "accounts_code_wrong", f"That code is not right ({left} tries left).",
                      errors={"form": {"code": [f"not right ({left} tries left)"]}})
    if contact_of(claim, row.kind) != row.value:  # the contact changed on the claim since the code left
        raise Refused(409, "accounts_contact_changed", "The contact on this repair changed; ask for a new code.")
    used = db.execute(update(AccountsCode).where(AccountsCode.id == row.id, AccountsCode.used_at.is_(None))
                      .values(used_at=utc()).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise Refused(409, "accounts_code_used", "That code was already used; ask for a new one.")
    return row


def claim_with_code(claim: Claim, shop: Shop, typed: str | None) -> AccountsAccount:
    """Verify ``typed`` for ``claim``; the account of that contact (found across the scope, else
    the browser's signed-in account, else a new one) is signed in on this browser."""
    code = check_code(claim, typed)
    scope = scope_ids(shop)
    account = account_for_contact(code.kind, code.value, scope)
    if account is None:
        signed_in = current_account(shop)
        db = get_session()
        if signed_in is not None and signed_in.tenant_id == shop.id:
            account = signed_in
        else:
            account = AccountsAccount(tenant_id=shop.id)
            db.add(account)
            db.flush()
        db.add(AccountsContact(tenant_id=account.tenant_id, account_id=account.id, kind=code.kind, value=code.value))
        db.flush()
    emit("account.opened", shop.id, {"account_id": account.id, "claim_id": claim.id, "contact_kind": code.kind})
    sign_in(account, "code")
    commit()
    return account


# -- the staff panel's read (bundled with the claim page's other rows) --------------------------------

CONTACTS, ACCOUNTS = "accounts.contacts", "accounts.accounts"


def _contact_match(claim: Claim) -> Any:
    pairs = [(kind, contact_of(claim, kind)) for kind in KINDS]
    conditions = [and_(AccountsContact.kind == kind, AccountsContact.value == value) for kind, value in pairs if value]
    return or_(*conditions) if conditions else None


def _panel_stmts(claim: Claim) -> tuple[Any, Any] | None:
    match = _contact_match(claim)
    if match is None:
        return None
    return (select(AccountsContact).where(match).order_by(AccountsContact.id),
            select(AccountsAccount).where(AccountsAccount.id.in_(select(AccountsContact.account_id).where(match)))
            .order_by(AccountsAccount.id))


def want_panel_rows(claim: Claim, bundle: Any) -> None:
    stmts = _panel_stmts(claim)
    if stmts is not None:
        bundle.want(CONTACTS, stmts[0])
        bundle.want(ACCOUNTS, stmts[1])


def accounts_of_claim(claim: Claim) -> list[tuple[str, AccountsAccount]]:
    """(contact kind, account) for the claim's mobile and email that have an account at its shop."""
    stmts = _panel_stmts(claim)
    if stmts is None:
        return []
    found = {c.kind: c for c in prefetched(CONTACTS, stmts[0])}
    accounts = {a.id: a for a in prefetched(ACCOUNTS, stmts[1])}
    out = []
    for kind in KINDS:
        contact = found.get(kind)
        if contact is not None and contact.value == contact_of(claim, kind) and contact.account_id in accounts:
            out.append((kind, accounts[contact.account_id]))
    return out


# -- accounts and sessions -------------------------------------------------------------------------


def account_for_contact(kind: str, value: str, scope: list[int]) -> AccountsAccount | None:
    with tenant_scope(scope):
        contact = get_session().scalars(select(AccountsContact).where(
            AccountsContact.kind == kind, AccountsContact.value == value).order_by(AccountsContact.id)).first()
        return get_session().get(AccountsAccount, contact.account_id) if contact is not None else None


def sign_in(account: AccountsAccount, method: str) -> AccountsSession:
    """A new session row for this browser (the browser's previous account session ends)."""
    db = get_session()
    previous = session.get(SESSION_KEY)
    if isinstance(previous, dict):
        with tenant_scope([int(previous.get("s") or 0)]):
            db.execute(update(AccountsSession).where(AccountsSession.id == int(previous.get("i") or 0),
                                                     AccountsSession.ended_at.is_(None))
                       .values(ended_at=utc()).execution_options(synchronize_session=False))
    with tenant_scope([account.tenant_id]):
        row = AccountsSession(tenant_id=account.tenant_id, account_id=account.id, method=method)
        db.add(row)
        account.last_seen_at = utc()
        db.flush()
    session[SESSION_KEY] = {"a": account.id, "s": account.tenant_id, "i": row.id}
    return row


def current_account(shop: Shop) -> AccountsAccount | None:
    """The account this browser is signed in to, when its session holds and the account's shop is
    ``shop`` or shares history with it; None otherwise (a read: nothing is written)."""
    entry = session.get(SESSION_KEY)
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("a", "s", "i")):
        return None
    home = entry["s"]
    if home != shop.id and home not in scope_ids(shop):
        return None
    db = get_session()
    with tenant_scope([home]):
        row = db.get(AccountsSession, entry["i"])
        if row is None or row.ended_at is not None or row.account_id != entry["a"]:
            return None
        return db.get(AccountsAccount, entry["a"])


def require_account(shop: Shop) -> AccountsAccount:
    account = current_account(shop)
    if account is None:
        raise Refused(401, "accounts_sign_in", "Sign in to your account first.")
    return account


def contacts(account: AccountsAccount) -> list[AccountsContact]:
    with tenant_scope([account.tenant_id]):
        return list(get_session().scalars(select(AccountsContact).where(
            AccountsContact.account_id == account.id).order_by(AccountsContact.id)))


def sign_out(shop: Shop) -> None:
    """This browser only."""
    entry = session.pop(SESSION_KEY, None)
    if isinstance(entry, dict):
        with tenant_scope([int(entry.get("s") or 0)]):
            get_session().execute(update(AccountsSession).where(AccountsSession.id == int(entry.get("i") or 0),
                                                                AccountsSession.ended_at.is_(None))
                                  .values(ended_at=utc()).execution_options(synchronize_session=False))
        commit()


def sign_out_everywhere(account: AccountsAccount) -> int:
    """End every session of ``account`` (every browser, this one included). Returns how many."""
    with tenant_scope([account.tenant_id]):
        ended = get_session().execute(update(AccountsSession).where(
            AccountsSession.account_id == account.id, AccountsSession.ended_at.is_(None))
            .values(ended_at=utc()).execution_options(synchronize_session=False)).rowcount
    session.pop(SESSION_KEY, None)
    commit()
    return int(ended or 0)


def active_sessions(account: AccountsAccount) -> int:
    with tenant_scope([account.tenant_id]):
        return get_session().scalar(select(func.count(AccountsSession.id)).where(
            AccountsSession.account_id == account.id, AccountsSession.ended_at.is_(None))) or 0


# -- the repairs of an account ------------------------------------------------------------------


def claims_of(account: AccountsAccount, shop: Shop) -> list[Claim]:
    """Every open or delivered (not closed) claim of the account's verified contacts in the scope,
    newest first."""
    found = contacts(account)
    mobiles = [c.value for c in found if c.kind == "mobile"]
    emails = [c.value for c in found if c.kind == "email"]
    if not mobiles and not emails:
        return []
    conditions = []
    if mobiles:
        conditions.append(Claim.customer_mobile.in_(mobiles))
    if emails:
        conditions.append(func.lower(Claim.customer_email).in_(emails))
    scope = sorted(set(scope_ids(shop)) | {account.tenant_id}) if account.tenant_id in scope_ids(shop) \
        else [account.tenant_id]
    with tenant_scope(scope):
        return list(get_session().scalars(select(Claim).where(or_(*conditions), Claim.archived_at.is_(None))
                                          .order_by(Claim.created_at.desc(), Claim.id.desc())))


def claim_of(account: AccountsAccount, shop: Shop, claim_id: int) -> Claim | None:
    return next((c for c in claims_of(account, shop) if c.id == claim_id), None)


def shops_by_id(ids: set[int]) -> dict[int, Shop]:
    return {s.id: s for s in get_session().scalars(select(Shop).where(Shop.id.in_(ids)))} if ids else {}


def summary(claim: Claim) -> dict[str, Any]:
    """What the customer sees of a repair (never internal notes, margins or staff-only files)."""
    with tenant_scope([claim.tenant_id]):
        photos = files.customer_photos(claim)
        uploads = [a for a in files.attachments_of(claim) if a.source == "customer"]
        stage = claim.stage
        return {"id": claim.id, "number": claim.number, "shop_id": claim.tenant_id, "vehicle": claim.vehicle,
                "vehicle_color": claim.vehicle_color, "stage": stage.customer_label or stage.name,
                "created_at": claim.created_at, "delivered_at": claim.delivered_at, "eta": claim.eta,
                "photos": [{"id": p.id, "tag": p.tag} for p in photos],
                "documents": [{"id": a.id, "filename": a.filename, "size": a.size,
                               "created_at": a.created_at} for a in uploads]}


def export(account: AccountsAccount, shop: Shop) -> dict[str, Any]:
    """The customer's own data: the account, its contacts and passkeys (names only), and the
    customer-visible part of every repair it lists."""
    claims = claims_of(account, shop)
    shops = shops_by_id({c.tenant_id for c in claims} | {account.tenant_id})

    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    repairs = []
    for claim in claims:
        s = summary(claim)
        s = {k: iso(v) for k, v in s.items()}
        s["documents"] = [{k: iso(v) for k, v in d.items()} for d in s["documents"]]
        s["shop"] = shops[claim.tenant_id].name
        with tenant_scope([claim.tenant_id]):
            s["messages"] = [{"at": iso(m.created_at), "direction": m.direction, "channel": m.channel,
                              "body": m.body} for m in messages.thread(claim)]
        repairs.append(s)
    with tenant_scope([account.tenant_id]):
        keys = list(get_session().scalars(select(AccountsPasskey).where(AccountsPasskey.account_id == account.id)))
    return {"account": {"id": account.id, "shop": shops[account.tenant_id].name,
                        "created_at": iso(account.created_at)},
            "contacts": [{"kind": c.kind, "value": c.value, "verified_at": iso(c.verified_at)}
                         for c in contacts(account)],
            "passkeys": [{"name": k.name, "created_at": iso(k.created_at)} for k in keys],
            "repairs": repairs}


def delete_account(account: AccountsAccount) -> None:
    """Delete the account, its contacts, passkeys and sessions, and the codes sent to its contacts.
    The repairs stay: they are the shop's records, still reachable through the shop's links."""
    db = get_session()
    with tenant_scope([account.tenant_id]):
        values = [c.value for c in contacts(account)]
        if values:
            db.execute(delete(AccountsCode).where(AccountsCode.value.in_(values))
                       .execution_options(synchronize_session=False))
        for model in (AccountsSession, AccountsPasskey, AccountsContact):
            db.execute(delete(model).where(model.account_id == account.id)  # type: ignore[attr-defined]
                       .execution_options(synchronize_session=False))
        emit("account.deleted", account.tenant_id, {"account_id": account.id})
        db.delete(account)
        db.flush()
    session.pop(SESSION_KEY, None)
    commit()


def in_group_view() -> bool:
    return bool(g.get("shop")) and shop_settings(NAME).get_bool("group_history")
