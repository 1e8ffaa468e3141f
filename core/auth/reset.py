"""Password-reset links: signed, time-limited, single-use (bound to the current hash)."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .models import User

MAX_AGE = 3600
SALT = "bayline.password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": user.credential_fingerprint()})


def read_reset_token(token: str, load_user) -> User | None:
    """The user the token is for, if it is genuine, fresh and unused; else None."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    user = load_user(data.get("u"))
    if user is None or not user.is_active or data.get("f") != user.credential_fingerprint():
        return None
    return user
