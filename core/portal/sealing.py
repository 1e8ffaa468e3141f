"""Authenticated encryption of portal link secrets that must be recoverable.

A printed document's QR is reprinted with the same link and a text is sent with its channel's
current link, so for those purposes the raw secret is kept, sealed with Fernet (AES-128-CBC +
HMAC-SHA256, so a changed or swapped value fails to open). The key is derived with HKDF-SHA256
from the app's ``SECRET_KEY`` under a purpose-specific ``info``: no new secret to manage, and the
key is useless for anything else the secret key signs. Opened values are checked against the
row's SHA-256 as well. A changed secret key means sealed links cannot be reopened: printing or
sending then issues a new link for that purpose (the old paper keeps working until it expires).
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

INFO = b"bayline portal link seal v1"
SHORT_INFO = b"bayline portal short code v1"
_fernets: dict[str, Fernet] = {}
_short_keys: dict[str, bytes] = {}


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"])
    found = _fernets.get(secret)
    if found is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret.encode("utf-8"))
        found = _fernets[secret] = Fernet(base64.urlsafe_b64encode(key))
    return found


def short_digest(raw: str) -> bytes:
    """A keyed digest of a link secret (HMAC-SHA256 under its own HKDF-derived key): the source of
    the link's short code, so the code can be printed again whenever the secret can be unsealed."""
    secret = str(current_app.config["SECRET_KEY"])
    key = _short_keys.get(secret)
    if key is None:
        key = _short_keys[secret] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                         info=SHORT_INFO).derive(secret.encode("utf-8"))
    return hmac.new(key, raw.encode("utf-8"), hashlib.sha256).digest()


def seal(raw: str) -> str:
    return _fernet().encrypt(raw.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None) -> str | None:
    """The raw secret, or None when there is none or it does not open under the current key."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
