"""L7: login throttling was per IP only: a distributed guesser was unlimited, and behind a proxy every
client shared one bucket. Now per account as well as per IP, and the client IP is the one the
configured proxies report (``BAYLINE_PROXY_HOPS``, werkzeug ProxyFix), never a forged header."""
from __future__ import annotations

from bayline import create_app
from bayline.extensions import limiter
from bayline.testing.forms import csrf_token


def _attempt(client, email, ip=None, forwarded=None):
    environ = {"REMOTE_ADDR": ip} if ip else {}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = csrf_token(client.get("/login", environ_base=environ, headers=headers))
    return client.post("/login", data={"email": email, "password": "wrong-horse-42", "csrf_token": token},
                       environ_base=environ, headers=headers).status_code


def test_a_distributed_guesser_is_limited_per_account(app, make_shop, make_user):
    shop = make_shop()
    victim = make_user(shop, email="victim@example.com")
    other = make_user(shop, email="other@example.com")
    statuses = [_attempt(app.test_client(), victim.email, ip=f"198.51.100.{n}") for n in range(1, 23)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    assert _attempt(app.test_client(), other.email, ip="198.51.100.99") == 401  # other accounts unaffected


def test_client_ip_behind_a_configured_proxy(database_url, tmp_path):
    proxied = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "p",
                          "public_url": "http://localhost", "proxy_hops": 1})
    limiter.reset()
    statuses = [_attempt(proxied.test_client(), f"user{n}@example.com", forwarded=f"203.0.113.{n}")
                for n in range(1, 14)]
    assert 429 not in statuses  # thirteen clients behind one proxy: each its own bucket


def test_forged_forwarded_for_is_ignored_without_proxies(app):
    statuses = [_attempt(app.test_client(), f"user{n}@example.com", forwarded=f"203.0.113.{n}")
                for n in range(1, 12)]
    assert statuses[10] == 429  # the same client, whatever X-Forwarded-For claims
