"""Plan changes take effect on the next request in every process: two app processes (gunicorn) on
one PostgreSQL database and one Redis. Starter → Professional → Starter through process A's platform
API; process B's customer page and brand stylesheet follow without a restart."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from branding_helpers import BRAND, stylesheet_url

from bayline.testing.plugin import in_tenant
from bayline.testing.processes import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``gunicorn 'bayline:create_app()'`` on a loopback port, ready once ``/-/health`` answers."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "4", "bayline:create_app()"],
            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def alive(self) -> str | None:
        return None if self.proc.poll() is None else f"exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"

    def wait_ready(self) -> AppProcess:
        def ready() -> bool:
            try:
                return httpx.get(self.url + "/-/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, f"app process on {self.port}", alive=self.alive)
        return self

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def processes(app, db_backend, database_url, redis_url, tmp_path) -> Iterator[tuple[AppProcess, AppProcess]]:
    if db_backend != "postgres":
        pytest.skip("the two-process variant runs on PostgreSQL and Redis")
    env = {**os.environ, "BAYLINE_ENV": "test", "BAYLINE_DATABASE_URL": database_url, "BAYLINE_REDIS_URL": redis_url,
           "BAYLINE_SECRET_KEY": app.config["SECRET_KEY"], "BAYLINE_PUBLIC_URL": "http://localhost",
           "BAYLINE_INSTANCE_DIR": str(tmp_path / "served"), "BAYLINE_WEB_THREADS": "4"}
    started = [AppProcess(env, tmp_path / "a.log"), AppProcess(env, tmp_path / "b.log")]
    try:
        yield tuple(p.wait_ready() for p in started)  # type: ignore[misc]
    finally:
        for p in started:
            p.stop()


def _platform_key(app, shop) -> str:
    result = app.test_cli_runner().invoke(args=["bayline", "rotate-api-key", "--shop", shop.slug, "--name", "ops",
                                                "--scope", "platform"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_plan_change_switches_branding_in_every_process(app, shop_on, make_claim, set_setting, processes):
    from bayline.events import commit
    from bayline.portal import tokens
    from bayline.tenants import features
    from bayline.tenants.models import Shop

    a, b = processes
    pro = shop_on("professional", name="Harbor Collision")
    assert pro.api.put("/api/v1/plugins/branding/brand", json=BRAND).status_code == 200
    set_setting(pro.shop, "portal.verification", "off")
    claim = make_claim(pro.shop)
    with in_tenant(app) as session:
        features.change_plan(session.get(Shop, pro.shop.id), "starter")
        commit(session)
    with in_tenant(app, pro.shop.id) as session:
        raw = tokens.issue(claim, purpose="staff_copy").raw
        commit(session)
    key = _platform_key(app, pro.shop)
    css = f"/plugins/branding/shops/{pro.shop.slug}/brand.css"

    customer = httpx.Client(base_url=b.url, headers={"Host": "localhost"}, follow_redirects=True, timeout=60)
    first = customer.get(f"/c/{raw}")
    assert first.status_code == 200 and "/c/s/" in str(first.url)

    def page() -> str:
        return customer.get("/c/s/").text

    assert stylesheet_url(page()) is None  # Starter: neutral
    assert customer.get(css).status_code == 404

    def move(plan: str) -> None:
        r = httpx.put(f"{a.url}/api/v1/platform/shops/{pro.shop.slug}/plan", json={"plan": plan},
                      headers={"Authorization": f"Bearer {key}", "Host": "localhost"}, timeout=60)
        assert r.status_code == 200, r.text

    move("professional")
    assert customer.get(css).status_code == 200  # B's very next request reads the new plan
    # B's stored copy of the page goes when A's bump reaches it over Redis pub/sub
    html = wait_until(lambda: (lambda h: h if stylesheet_url(h) else None)(page()), "B renders the brand")
    assert "Welcome to Harbor Collision" in html
    move("starter")
    assert customer.get(css).status_code == 404
    html = wait_until(lambda: (lambda h: h if stylesheet_url(h) is None else None)(page()), "B drops the brand")
    assert "Powered by Bayline" in html and "Welcome to Harbor Collision" not in html
