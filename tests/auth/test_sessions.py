"""Signed-cookie sessions read once per cookie (core/auth/sessions.py): same answers as Flask's own
interface for good, tampered and expired cookies, and each request gets its own copy."""
from __future__ import annotations

import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from bayline.auth.sessions import CachedSerializerSessionInterface


class _SignedLongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 40 * 24 * 3600  # beyond the 31-day session lifetime


def _cookie(app, data, signer=TimestampSigner):
    plain = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(app.secret_key, salt=plain.salt, serializer=plain.serializer,
                                        signer=signer, signer_kwargs={"key_derivation": plain.key_derivation,
                                                                      "digest_method": plain.digest_method})
    return serializer.dumps(data)


def test_reads_good_refuses_tampered_and_expired(app):
    interface = app.session_interface
    assert isinstance(interface, CachedSerializerSessionInterface)
    good = _cookie(app, {"portal": {"c": 1, "s": 2, "t": 3}})
    assert interface.load_verified(app, good) == {"portal": {"c": 1, "s": 2, "t": 3}}
    assert interface.load_verified(app, good) == {"portal": {"c": 1, "s": 2, "t": 3}}  # the remembered answer
    assert interface.load_verified(app, good[:-3] + "abc") is None
    assert interface.load_verified(app, _cookie(app, {"x": 1}, signer=_SignedLongAgo)) is None


def test_remembered_cookie_still_expires(app):
    interface = app.session_interface
    good = _cookie(app, {"n": 1})
    assert interface.load_verified(app, good) == {"n": 1}
    app.permanent_session_lifetime = 0
    time.sleep(1.05)
    assert interface.load_verified(app, good) is None


def test_each_request_gets_its_own_copy(app):
    cookie = _cookie(app, {"portal": {"c": 1, "s": 2, "t": 3}})
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        from flask import session

        session["portal"]["c"] = 99
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        from flask import session

        assert session["portal"]["c"] == 1


def test_new_secret_key_forgets_what_was_verified(app):
    good = _cookie(app, {"n": 1})
    assert app.session_interface.load_verified(app, good) == {"n": 1}
    app.secret_key = "another-secret-key-of-a-good-length-0123456789"
    assert app.session_interface.load_verified(app, good) is None
