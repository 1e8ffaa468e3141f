"""Credentials that must not travel between deployments (shop archives, docs/operations.md)."""
from __future__ import annotations

import hashlib
import secrets


def unusable_hash() -> str:
    """The SHA-256 of a secret nobody holds: what an imported credential row (a portal link, an API
    key, an invitation) stores instead of its hash, so it can never be presented again."""
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()
