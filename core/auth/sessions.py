"""Flask's signed-cookie sessions, with the work of reading the cookie done once per cookie.

Flask builds a new ``URLSafeTimedSerializer`` on every request (itsdangerous test-serialises an
empty string to build it) and verifies the cookie's HMAC, base64, zlib and tagged JSON each time.
For a page answered from memory that was the largest share of the request. Here the serializer is
built once per key set, and a cookie value already verified is recognised by its exact string
(bounded LRU): the same bytes always decode to the same data, and the signing time kept with it
still enforces the session lifetime. Rotating ``SECRET_KEY``/``SECRET_KEY_FALLBACKS`` starts over.
Each request gets its own copy of the data, as before.
"""
from __future__ import annotations

import copy
import threading
import time
from typing import Any

from cachetools import LRUCache
from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

VERIFIED_COOKIES = 2_048  # the recently seen sessions of this process (a 30-minute soak showed 20k grow RSS)


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: tuple[object, ...] | None = None
        self._serializer: URLSafeTimedSerializer | None = None
        self._verified: LRUCache[str, tuple[Any, float]] = LRUCache(maxsize=VERIFIED_COOKIES)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if keys != self._keys:
            serializer = super().get_signing_serializer(app)
            with self._lock:
                self._keys, self._serializer = keys, serializer
                self._verified.clear()
        return self._serializer

    def load_verified(self, app: Flask, value: str) -> dict[str, Any] | None:
        """The data of a session cookie value, or None when it is not valid (bad signature, expired).
        Shared and read-only: callers that change a session get their own copy (``open_session``)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        max_age = int(app.permanent_session_lifetime.total_seconds())
        with self._lock:
            known = self._verified.get(value)
        if known is not None and time.time() - known[1] <= max_age:
            return known[0]
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return None
        with self._lock:
            self._verified[value] = (data, signed_at.timestamp())
        return data

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_signing_serializer(app) is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        data = self.load_verified(app, value) if value else None
        return self.session_class(copy.deepcopy(data) if data is not None else None)
