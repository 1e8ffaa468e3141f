"""H1: external links come from ``BAYLINE_PUBLIC_URL``, never from the request's ``Host``.

Before the fix ``POST /forgot`` with ``Host: evil.example`` mailed ``http://evil.example/reset/<token>``
(account takeover by reset-link poisoning), and ``/static//x`` answered
``Location: http://evil.example/static/x``.
"""
from __future__ import annotations

import pytest

from bayline import create_app
from bayline.config import load_settings
from bayline.testing.forms import csrf_token


class _HostClient:
    """A test client whose every request claims ``Host: host``."""

    def __init__(self, app, host, scheme):
        self._client, self._base = app.test_client(), f"{scheme}://{host}"

    def get(self, *args, **kw):
        return self._client.get(*args, base_url=self._base, **kw)

    def post(self, *args, **kw):
        return self._client.post(*args, base_url=self._base, **kw)


def _client(app, host, scheme="http"):
    return _HostClient(app, host, scheme)


def _forgot(client, email):
    token = csrf_token(client, "/forgot")
    return client.post("/forgot", data={"email": email, "csrf_token": token})


def test_reset_link_ignores_a_forged_host_header(app, make_shop, make_user):
    user = make_user(make_shop(), email="victim@harbor.example")
    client = _client(app, "evil.example", "http")
    assert _forgot(client, user.email).status_code == 200
    mail = [m for m in app.extensions["bayline.outbox"] if m["to"] == user.email][-1]
    assert "evil.example" not in mail["body"]
    assert "http://localhost/reset/" in mail["body"]


def test_slash_redirects_do_not_reflect_the_host(app):
    client = _client(app, "evil.example", "http")
    r = client.get("/static//x")
    if r.status_code in (301, 302, 308):
        assert "evil.example" not in r.headers["Location"]
        assert r.headers["Location"].startswith("/")
    r = client.get("/console")
    assert "evil.example" not in r.headers.get("Location", "")


def test_unknown_hosts_are_refused_when_hosts_are_configured(database_url, tmp_path):
    app = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i",
                      "public_url": "https://status.harbor.example", "trusted_hosts": ["www.harbor.example"]})
    client = _client(app, "evil.example", "http")
    assert client.get("/login").status_code == 404  # a host nobody serves (bayline.hosts)
    assert _client(app, "status.harbor.example", "https").get("/login").status_code == 200
    assert _client(app, "www.harbor.example", "https").get("/login").status_code == 200


def test_production_always_checks_the_host():
    settings = load_settings({"BAYLINE_ENV": "production", "BAYLINE_SECRET_KEY": "x" * 40,
                              "BAYLINE_DATABASE_URL": "postgresql://db/bayline", "BAYLINE_REDIS_URL": "redis://r",
                              "BAYLINE_PUBLIC_URL": "https://status.harbor.example"})
    assert settings.allowed_hosts == ["status.harbor.example"]
    dev = load_settings({"BAYLINE_ENV": "development"}, instance_dir="/tmp/bayline-sec-dev")
    assert dev.allowed_hosts is None


@pytest.mark.parametrize("hops", ["x", "1"])
def test_proxy_hops_setting(hops, tmp_path):
    env = {"BAYLINE_PROXY_HOPS": hops}
    if hops == "x":
        from bayline.config import ConfigError

        with pytest.raises(ConfigError, match="BAYLINE_PROXY_HOPS"):
            load_settings(env, instance_dir=tmp_path)
    else:
        assert load_settings(env, instance_dir=tmp_path).proxy_hops == 1


# -- M1, L8 (CRLF), L9: one check for every redirect target ------------------------------------------

PASSWORD = "correct-horse-42"


def _login(client, email, nxt):
    token = csrf_token(client, "/login")
    return client.post("/login", query_string={"next": nxt}, data={"email": email, "password": PASSWORD,
                                                                  "csrf_token": token})


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/\t/evil.example/", "/\n/evil.example", "/%0d%0aX: y",
                                    "/\r\nSet-Cookie: x=1", "http:/\\evil.example", "/%2F/evil.example",
                                    "https:evil.example", "javascript:alert(1)"])
def test_login_next_never_leaves_the_site(app, make_shop, make_user, target):
    """Before: ``next=/%09/evil.example/`` → ``Location: /\\t/evil.example/`` (a browser reads
    ``//evil.example/``); CR/LF gave a 500."""
    user = make_user(make_shop())
    r = _login(app.test_client(), user.email, target)
    assert r.status_code == 302
    assert r.headers["Location"] == "/console/"


def test_login_next_keeps_a_local_path(app, make_shop, make_user):
    user = make_user(make_shop())
    r = _login(app.test_client(), user.email, "/console/claims?q=a#top")
    assert r.headers["Location"] == "/console/claims?q=a#top"


def test_safe_redirect_target_prefix():
    from bayline.urls import safe_redirect_target

    assert safe_redirect_target("/console/x", "/d", prefix="/console/") == "/console/x"
    assert safe_redirect_target("/c/s/x", "/d", prefix="/console/") == "/d"
    assert safe_redirect_target("//evil.example/console/", "/d", prefix="/console/") == "/d"
    assert safe_redirect_target(None, "/d") == "/d"
    assert safe_redirect_target("/" + "a" * 3000, "/d") == "/d"
