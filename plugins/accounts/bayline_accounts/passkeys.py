"""Optional passkeys (WebAuthn) for an account, through the ``webauthn`` library.

Registration needs a signed-in account; sign-in (from a repair's portal, instead of a code) finds the
credential by its id among the accounts of the shop's scope. The relying party is the host of
``BAYLINE_PUBLIC_URL`` and the expected origin its scheme and host; the challenge is kept in the
signed session cookie and used once. No attestation is asked for (``none``): the passkey proves the
same device later, not its maker."""
from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import webauthn
from flask import g, request, session
from sqlalchemy import select
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bayline.plugin_api import Refused, commit, get_session, public_url, tenant_scope, unscoped, utcnow

from . import service
from .models import AccountsAccount, AccountsPasskey

CHALLENGE_KEY = "accounts_webauthn"
MAX_PASSKEYS = 10


def relying_party() -> tuple[str, str]:
    """(rp_id, origin) from ``BAYLINE_PUBLIC_URL``."""
    parts = urlsplit(public_url("/"))
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def passkeys_of(account: AccountsAccount) -> list[AccountsPasskey]:
    with tenant_scope([account.tenant_id]):
        return list(get_session().scalars(select(AccountsPasskey).where(AccountsPasskey.account_id == account.id)
                                          .order_by(AccountsPasskey.id)))


def _remember(kind: str, challenge: bytes, account_id: int | None = None) -> None:
    session[CHALLENGE_KEY] = {"k": kind, "c": bytes_to_base64url(challenge), "a": account_id}


def _take(kind: str) -> dict[str, Any]:
    entry = session.pop(CHALLENGE_KEY, None)
    if not isinstance(entry, dict) or entry.get("k") != kind:
        raise Refused(409, "accounts_passkey_no_challenge", "Start again: ask for a new passkey prompt.")
    return entry


def registration_options(account: AccountsAccount) -> str:
    keys = passkeys_of(account)
    if len(keys) >= MAX_PASSKEYS:
        raise Refused(409, "accounts_passkey_limit", f"An account keeps at most {MAX_PASSKEYS} passkeys.")
    rp_id, _ = relying_party()
    label = next((service.masked(c.kind, c.value) for c in service.contacts(account)), "account")
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=g.shop.name, user_id=f"bayline-account-{account.tenant_id}-{account.id}".encode(),
        user_name=label, user_display_name=f"{g.shop.name} ({label})", challenge=secrets.token_bytes(32),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(k.credential_id))
                             for k in keys])
    _remember("register", options.challenge, account.id)
    return webauthn.options_to_json(options)


def register(account: AccountsAccount, credential: Any, name: str | None) -> AccountsPasskey:
    entry = _take("register")
    if entry.get("a") != account.id:
        raise Refused(409, "accounts_passkey_no_challenge", "Start again: ask for a new passkey prompt.")
    rp_id, origin = relying_party()
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=webauthn.base64url_to_bytes(entry["c"]),
            expected_rp_id=rp_id, expected_origin=origin)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise Refused(422, "accounts_passkey_invalid", f"The passkey could not be checked: {exc}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    db = get_session()
    with unscoped(db):
        if db.scalar(select(AccountsPasskey.id).where(AccountsPasskey.credential_id == credential_id)):
            raise Refused(409, "accounts_passkey_known", "That passkey is already registered.")
    transports = []
    if isinstance(credential, dict):
        transports = [str(t) for t in (credential.get("response") or {}).get("transports") or []][:5]
    clean = " ".join((name or "").split())[:60] or "Passkey"
    with tenant_scope([account.tenant_id]):
        row = AccountsPasskey(tenant_id=account.tenant_id, account_id=account.id, credential_id=credential_id,
                              public_key=verified.credential_public_key, sign_count=verified.sign_count,
                              transports=transports, name=clean)
        db.add(row)
        db.flush()
    commit()
    return row


def authentication_options() -> str:
    rp_id, _ = relying_party()
    options = webauthn.generate_authentication_options(rp_id=rp_id, challenge=secrets.token_bytes(32),
                                                       user_verification=UserVerificationRequirement.PREFERRED)
    _remember("sign_in", options.challenge)
    return webauthn.options_to_json(options)


def sign_in(credential: Any) -> AccountsAccount:
    """Verify an assertion; the passkey's account (in the shop's scope) is signed in on this browser."""
    entry = _take("sign_in")
    raw_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(raw_id, str) or not raw_id or len(raw_id) > 400:
        raise Refused(422, "accounts_passkey_invalid", "That is not a passkey answer.")
    db = get_session()
    with tenant_scope(service.scope_ids(g.shop)):
        row = db.scalars(select(AccountsPasskey).where(AccountsPasskey.credential_id == raw_id)).first()
        if row is None:
            raise Refused(401, "accounts_passkey_unknown", "That passkey is not registered here.")
        rp_id, origin = relying_party()
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=webauthn.base64url_to_bytes(entry["c"]),
                expected_rp_id=rp_id, expected_origin=origin, credential_public_key=row.public_key,
                credential_current_sign_count=row.sign_count)
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
            raise Refused(401, "accounts_passkey_invalid", f"The passkey could not be checked: {exc}") from None
        row.sign_count = verified.new_sign_count
        row.last_used_at = utcnow()
        account = db.get(AccountsAccount, row.account_id)
    service.sign_in(account, "passkey")
    commit()
    return account


def remove(account: AccountsAccount, passkey_id: int) -> bool:
    db = get_session()
    with tenant_scope([account.tenant_id]):
        row = db.get(AccountsPasskey, passkey_id)
        if row is None or row.account_id != account.id:
            return False
        db.delete(row)
        db.flush()
    commit()
    return True


def json_body() -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise Refused(400, "accounts_bad_json", "The request body is not JSON.") from None
