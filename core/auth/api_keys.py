"""Per-shop API keys: ``bl_<random>``; only the SHA-256 is stored; revocable."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from bayline.db import get_session, utcnow
from bayline.tenancy import unscoped

from .models import ApiKey

PREFIX = "bl_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(shop_id: int, name: str, scopes: list[str], created_by_id: int | None = None, *,
                   operator: bool = False) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (shown once, never stored). A key acts with the
    current role of ``created_by_id``; only the platform operator's keys (``operator``, the CLI) have
    no creator and hold exactly their scopes."""
    if created_by_id is None and not operator:
        raise ValueError("an API key needs its creator (or operator=True for the platform operator's CLI)")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=shop_id, name=name, prefix=secret[:10], key_hash=hash_secret(secret),
        scopes=list(scopes), created_by_id=created_by_id, operator_issued=operator and created_by_id is None,
    )
    get_session().add(key)
    return key, secret


def lookup_api_key(secret: str) -> ApiKey | None:
    """The active key for ``secret`` (any shop: the key decides the tenant), or None."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    with unscoped() as session:
        key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret))).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke(key: ApiKey) -> None:
    key.revoked_at = utcnow()
