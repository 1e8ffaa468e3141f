"""Secrets a plugin must keep recoverable (OAuth tokens, mailbox passwords): sealed at rest.

Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with HKDF-SHA256 from the app's
``SECRET_KEY`` and the caller's ``purpose`` (like the portal's link seal, ``core/portal/sealing.py``):
no new secret to manage, and a value sealed for one purpose does not open under another. A changed
``SECRET_KEY`` means sealed values no longer open (``unseal`` returns None): the plugin asks the
shop to reconnect."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = "bayline plugin secret v1:"
_fernets: dict[tuple[str, str], Fernet] = {}


def _fernet(purpose: str) -> Fernet:
    if not purpose:
        raise ValueError("a purpose is required (e.g. 'email.connection')")
    secret = str(current_app.config["SECRET_KEY"])
    found = _fernets.get((secret, purpose))
    if found is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=(_INFO + purpose).encode("utf-8")).derive(secret.encode("utf-8"))
        found = _fernets[(secret, purpose)] = Fernet(base64.urlsafe_b64encode(key))
    return found


def seal(raw: str, purpose: str) -> str:
    """``raw`` encrypted for storage; open it with :func:`unseal` and the same ``purpose``."""
    return _fernet(purpose).encrypt(raw.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None, purpose: str) -> str | None:
    """The value :func:`seal` stored, or None when there is none or it does not open (tampered,
    another purpose, or the secret key changed)."""
    if not sealed:
        return None
    try:
        return _fernet(purpose).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
