"""The customer's page, answered from memory while nothing it shows has changed.

A portal page is read far more often than the claim behind it changes (customers reload, several
family members follow one repair, each opens it from the text again). :class:`PortalPageServer`
wraps the app's WSGI callable and, for ``GET /c/s/``:

1. applies the page's rate limit (:class:`PageLimit`, per client address; over it, the request goes
   on to Flask marked as limited and gets the friendly 429 page);
2. reads the signed session cookie (verified by the app's own session interface) and the change
   generations (:mod:`bayline.generations`) of the session's platform, shop and claim;
3. answers from the page store when it holds this link's page under exactly those generations,
   with the headers Flask's whole pipeline gave that page when it was rendered and this session's
   own CSRF token put back in; no query, no template, no request context;
4. otherwise passes the request on to Flask with the generations it read. The view offers what it
   rendered (:func:`offer`) and the server keeps the final response (body and headers, minus
   cookies) under those generations, read *before* any data the page was built from.

A stored page is never served to a session whose signed cookie does not name that shop, claim and
link, nor to a portal session the app has not found open under the current generations; token
rotation, revocation or expiry, archiving, a session signing out, plan or setting changes all bump
a generation, so the next request renders (and a signed-out session's copied cookie is refused).
Never stored nor served from the store: the page of a session carrying values of its own (an
upload notice, flashed messages, anything outside :data:`SHARED_SESSION_KEYS`), so one session's
notice never reaches another session of the link. Always rendered (and then kept): requests with
query arguments, ``Cache-Control: no-cache`` (portal.js's refetch after a live
update, a hard reload), a customer's views in the seconds after their own change (another process
may not have heard of it yet), and a session seen for the first time (its form token is made by
Flask-WTF). A stored page also goes after ``max_age`` seconds, which bounds how long it may lag if
a bump was lost while Redis was unreachable, and when the link's expiry passes.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import limits
from cachetools import LRUCache
from flask import Flask, request, session
from flask_wtf.csrf import generate_csrf
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.http import parse_cache_control_header, parse_cookie

from bayline.db import utcnow
from bayline.generations import Generations, GenerationStore

log = logging.getLogger(__name__)

PAGE_PATH = "/c/s/"
SESSION_KEY = "portal"  # the verified portal session's entry: {"s": shop, "c": claim, "t": link, "i": session}
PAGE_LIMIT = "120 per minute"
CSRF_SLOT = b"\x00csrf\x00"  # never in a rendered page: NUL is refused at the door
OWN_WRITE_KEY = "portal_w"
OWN_WRITE_SECONDS = 5
GENERATIONS = "bayline.portal.generations"
OFFER = "bayline.portal.offer"
LIMITED = "bayline.portal.limited"
UNSTORED_HEADERS = frozenset({"set-cookie", "content-length", "date", "server"})
# What a session may carry and still share the link's stored page: none of these is ever shown on
# it. Anything else in a session (an upload notice, flashed messages, a plugin's remembered choice,
# a staff login) is this session's own: its page is rendered for it and never stored or served.
# (Flask-Login's "_fresh" marker is set in anonymous sessions too.)
SHARED_SESSION_KEYS = frozenset({SESSION_KEY, "csrf_token", OWN_WRITE_KEY, "_permanent", "_fresh"})

Key = tuple[int, int, int]  # shop, claim, link (token id)


@dataclass(frozen=True)
class StoredPage:
    generations: Generations
    body: bytes
    headers: list[tuple[str, str]]
    expires_at: datetime | None
    stored_at: float
    host: str = ""  # the Host it was rendered for: never served on another (custom hosts, bayline.hosts)


@dataclass(frozen=True)
class Offer:
    """A page the view rendered for a plain request, with what is needed to keep it."""

    key: Key
    generations: Generations
    expires_at: datetime | None
    csrf_secret: str
    csrf_token: str
    session_id: int
    host: str = ""


class PortalPageCache:
    """Pages by (shop, claim, link), the CSRF token made for each session secret (tokens never
    expire here, ``WTF_CSRF_TIME_LIMIT`` None, so a session's token is reused, not signed anew), and
    the portal sessions the app found open, each under the generations it was checked at: a stored
    page goes only to a session checked under the current generations (ending a session bumps the
    claim's generation, so a signed-out session's copied cookie is checked again, and refused)."""

    def __init__(self, generations: GenerationStore, max_entries: int = 2048, max_age: float = 60.0) -> None:
        self.generations = generations
        self.max_age = max_age
        self._pages: LRUCache[Key, StoredPage] = LRUCache(maxsize=max_entries)
        self._csrf_tokens: LRUCache[str, str] = LRUCache(maxsize=max_entries)
        self._open_sessions: LRUCache[int, Generations] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def find(self, key: Key, generations: Generations, host: str = "") -> StoredPage | None:
        with self._lock:
            page = self._pages.get(key)
        if page is None or page.generations != generations or time.monotonic() - page.stored_at > self.max_age:
            return None
        if page.host != host:
            return None
        if page.expires_at is not None and utcnow() >= page.expires_at:
            return None
        return page

    def keep(self, offer: Offer, body: bytes, headers: list[tuple[str, str]]) -> None:
        stored = [(k, v) for k, v in headers if k.lower() not in UNSTORED_HEADERS]
        page = StoredPage(offer.generations, body.replace(offer.csrf_token.encode(), CSRF_SLOT), stored,
                          offer.expires_at, time.monotonic(), offer.host)
        with self._lock:
            self._pages[offer.key] = page
            self._csrf_tokens[offer.csrf_secret] = offer.csrf_token
            self._open_sessions[offer.session_id] = offer.generations

    def session_open(self, session_id: int, generations: Generations) -> bool:
        """The app found this portal session open under exactly these generations."""
        with self._lock:
            return self._open_sessions.get(session_id) == generations

    def csrf_token(self, secret: str) -> str | None:
        with self._lock:
            return self._csrf_tokens.get(secret)

    def __len__(self) -> int:
        return len(self._pages)


class PageLimit:
    """The portal page's rate limit per client address, shared by stored and rendered answers. Uses
    the app's rate-limit storage (Redis in production); when that storage fails, requests pass
    (as Flask-Limiter is configured to do) and the failure is logged."""

    def __init__(self, app: Flask, limit: str = PAGE_LIMIT) -> None:
        self.app = app
        self.item = limits.parse(limit)
        # one count per database: deployments (and test databases) sharing a Redis stay apart
        self.namespace = hashlib.sha256(app.extensions["bayline.db"].url.encode()).hexdigest()[:12]
        self._strategy: FixedWindowRateLimiter | None = None

    def allows(self, address: str | None) -> bool:
        if not self.app.config.get("RATELIMIT_ENABLED", True):
            return True
        if self._strategy is None:
            uri = self.app.config.get("RATELIMIT_STORAGE_URI", "memory://")
            self._strategy = FixedWindowRateLimiter(storage_from_string(uri))
        try:
            return self._strategy.hit(self.item, "bayline-portal-page", self.namespace, address or "-")
        except Exception as exc:  # storage down: serve rather than refuse every customer
            log.warning("portal page rate limit unavailable: %s", exc)
            return True


def session_key(data: Any) -> Key | None:
    """(shop, claim, link) of a verified portal session's data (its ``portal`` entry), or None."""
    entry = data.get(SESSION_KEY)
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("c", "s", "t", "i")):
        return None
    return entry["s"], entry["c"], entry["t"]


def session_id(data: Any) -> int | None:
    """The portal session row (:class:`~bayline.portal.models.PortalSession`) a verified entry names."""
    return data[SESSION_KEY]["i"] if session_key(data) is not None else None


def has_own_values(data: Any) -> bool:
    """The session carries values of its own (anything outside :data:`SHARED_SESSION_KEYS`): its page
    is neither served from the store nor kept there."""
    return any(name not in SHARED_SESSION_KEYS for name in data)


def _asks_fresh(environ: dict[str, Any]) -> bool:
    if "no-cache" in environ.get("HTTP_PRAGMA", ""):
        return True
    header = environ.get("HTTP_CACHE_CONTROL")
    return bool(header) and bool(parse_cache_control_header(header).no_cache)


class PortalPageServer:
    """WSGI middleware in front of the Flask app (see the module docstring)."""

    def __init__(self, app: Flask, cache: PortalPageCache, limit: PageLimit) -> None:
        self.app, self.cache, self.limit = app, cache, limit
        self.next_app: Callable[..., Iterable[bytes]] = app.wsgi_app
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PAGE_PATH or method not in ("GET", "HEAD"):
            return self.next_app(environ, start_response)
        if not self.limit.allows(environ.get("REMOTE_ADDR")):
            environ[LIMITED] = True
            return self.next_app(environ, start_response)
        if method != "GET" or environ.get("QUERY_STRING"):
            return self.next_app(environ, start_response)
        data = self._session(environ)
        key = session_key(data) if data is not None and not has_own_values(data) else None
        generations = self.cache.generations.current(key[0], key[1]) if key is not None else None
        if generations is None:
            return self.next_app(environ, start_response)
        token = self._csrf_token(data)  # type: ignore[arg-type]
        if (token is not None and not _asks_fresh(environ) and data.get(OWN_WRITE_KEY, 0) <= time.time()  # type: ignore[union-attr]
                and self.cache.session_open(session_id(data), generations)):  # type: ignore[arg-type]
            page = self.cache.find(key, generations, environ.get("HTTP_HOST", ""))  # type: ignore[arg-type]
            if page is not None:
                body = page.body.replace(CSRF_SLOT, token.encode())
                start_response("200 OK", [*page.headers, ("Content-Length", str(len(body)))])
                return [body]
        environ[GENERATIONS] = generations
        return self._render_and_keep(environ, start_response)

    def _session(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        value = parse_cookie(environ.get("HTTP_COOKIE", "")).get(self.cookie_name)
        if not value:
            return None
        return self.app.session_interface.load_verified(self.app, value)  # type: ignore[attr-defined]

    def _csrf_token(self, data: dict[str, Any]) -> str | None:
        secret = data.get("csrf_token")
        if not isinstance(secret, str) or self.app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
            return None
        return self.cache.csrf_token(secret)

    def _render_and_keep(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body_iter = self.next_app(environ, capture)
        offer = environ.get(OFFER)
        if offer is None or not answer or not answer[0].startswith("200 "):
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        self.cache.keep(offer, body, list(answer[1]))
        return [body]


# -- the Flask side ----------------------------------------------------------------------------------

def refuse_if_limited() -> None:
    """Before-request: the page server found this client over the page's rate limit."""
    if request.environ.get(LIMITED):
        from werkzeug.exceptions import TooManyRequests

        raise TooManyRequests("Too many requests for this page. Please wait a minute and try again.",
                              retry_after=60)


def offer(expires_at: datetime | None) -> None:
    """Called by the page view after rendering: let the page server keep this page, when the
    request was a plain view it read generations for."""
    generations = request.environ.get(GENERATIONS)
    key = session_key(session)
    if generations is None or key is None or request.args or has_own_values(session):
        return
    token = generate_csrf()  # made (and the secret put in the session) now if this is the first view
    request.environ[OFFER] = Offer(key, generations, expires_at, session["csrf_token"], token,
                                   session[SESSION_KEY]["i"], request.environ.get("HTTP_HOST", ""))


def note_customer_write(response: Any) -> Any:
    """After a customer's own POST, render their next views for a few seconds (read your writes)."""
    if request.method == "POST" and request.path.startswith("/c/"):
        session[OWN_WRITE_KEY] = int(time.time()) + OWN_WRITE_SECONDS
    return response


def get_cache(app: Flask) -> PortalPageCache:
    return app.extensions["bayline.portal_cache"]


def init_portal_cache(app: Flask, **options: Any) -> PortalPageCache:
    cache = PortalPageCache(app.extensions["bayline.generations"], **options)
    app.extensions["bayline.portal_cache"] = cache
    app.before_request(refuse_if_limited)
    app.after_request(note_customer_write)
    app.wsgi_app = PortalPageServer(app, cache, PageLimit(app))  # type: ignore[method-assign]
    return cache
