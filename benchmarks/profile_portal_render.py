"""CPU per rendered portal page, measured without the wall clock (issue 18).

The rendered customer page (``GET /c/s/`` with ``Cache-Control: no-cache``: the page store is
bypassed, as a live-update refetch asks) is served through the Flask test client for a busy claim
(messages both ways, a customer-visible photo, a customer upload, an e-sign package, an imported
estimate: ``tests/portal/test_statement_budget.busy_claim``), after a warm-up. Reported per page:

* CPU seconds of this process (``time.process_time()``: what the app spends, not what a busy
  machine's other processes take; the database server's own CPU is not in it on PostgreSQL);
* Python function calls (``cProfile``, deterministic), with the top functions by own time
  (``--top``);
* statements sent (``before_cursor_execute``);
* optionally, instructions (deterministic even on a busy machine): run the script under
  ``valgrind --tool=callgrind --instr-atstart=no`` with ``--callgrind``; the script switches
  instrumentation on (``callgrind_control -i on``) only around the measured pages, so the total
  ``Ir`` that ``callgrind_annotate`` reports, divided by ``--pages``, is instructions per page.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.profile_portal_render                 # SQLite, 200 pages
    .venv/bin/python -m benchmarks.profile_portal_render --postgres      # BAYLINE_TEST_POSTGRES_URL
    .venv/bin/python -m benchmarks.profile_portal_render --top 30        # the profile's top functions
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python -m benchmarks.profile_portal_render --pages 20 --no-profile --callgrind
    callgrind_annotate /tmp/cg.out | head -20      # "PROGRAM TOTALS": Ir over the 20 pages

The numbers are for comparing two versions of the code on one machine; ``BENCHMARKS.md`` has the
throughput ratio measured under gunicorn.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NO_CACHE = {"Cache-Control": "no-cache", "Accept": "text/html"}


def _factories(app: Any) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """``make_shop``, ``make_user``, ``make_claim`` as the test fixtures make them."""
    from bayline.claims import service
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.testing.plugin import in_tenant

    def make_shop(plan: str = "starter", name: str | None = None, **fields: Any) -> Any:
        suffix = os.urandom(3).hex()
        with in_tenant(app) as session:
            group = provisioning.create_group(f"Group {suffix}", f"group-{suffix}")
            shop = provisioning.create_shop(group, name or f"Shop {suffix}", slug=f"shop-{suffix}", plan=plan,
                                            **fields)
            commit(session)
            return shop

    def make_user(shop: Any, role: str = "owner") -> Any:
        with in_tenant(app) as session:
            user = provisioning.create_user(f"staff-{os.urandom(3).hex()}@example.com", "Staff", "correct-horse-42")
            provisioning.add_membership(user, shop, role)
            commit(session)
            return user

    def make_claim(shop: Any, **fields: Any) -> Any:
        data = {"number": "RO-00001", "customer_first_name": "Dana", "customer_last_name": "Reyes",
                "customer_mobile": "+16175550100", **fields}
        with in_tenant(app, shop.id) as session:
            claim = service.create_claim(data)
            commit(session)
            return claim

    return make_shop, make_user, make_claim


def _portal_client(app: Any, claim: Any) -> Any:
    from bayline.claims.models import Claim
    from bayline.events import commit
    from bayline.portal import tokens
    from bayline.testing.plugin import in_tenant

    with in_tenant(app, claim.tenant_id) as session:
        current = session.get(Claim, claim.id)
        token = tokens.active_token(current) or tokens.issue(current).token
        commit(session)
        entry = tokens.open_session(token, current)
        commit(session)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["portal"] = entry
    return client


@contextmanager
def _database(postgres: bool, tmp: Path) -> Any:
    if not postgres:
        yield f"sqlite:///{tmp / 'profile.db'}"
        return
    from bayline.testing.databases import PostgresDatabases, postgres_admin_url

    if not postgres_admin_url():
        sys.exit("--postgres needs BAYLINE_TEST_POSTGRES_URL")
    dbs = PostgresDatabases()
    try:
        yield dbs.template_url()
    finally:
        dbs.close()


def _callgrind_toggle() -> None:
    """Switch callgrind's instrumentation of this process on or off (``callgrind_control -i``)."""
    import subprocess

    subprocess.run(["callgrind_control", "-i", "on" if not _callgrind_toggle.on else "off", str(os.getpid())],
                   check=True, capture_output=True)
    _callgrind_toggle.on = not _callgrind_toggle.on  # type: ignore[attr-defined]


_callgrind_toggle.on = False  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="on BAYLINE_TEST_POSTGRES_URL (else SQLite)")
    parser.add_argument("--top", type=int, default=0, help="print the profile's top N functions (own time)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --top")
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind collection around the pages")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass (no call counts)")
    parser.add_argument("--out", help="write the page's HTML here (to compare two versions byte for byte)")
    args = parser.parse_args(argv)

    import tempfile

    from sqlalchemy import event

    from bayline import create_app
    from bayline.db import get_db
    from bayline.migrate import upgrade_all
    from tests.portal.test_statement_budget import busy_claim

    tmp = Path(tempfile.mkdtemp(prefix="bayline-profile-"))
    with _database(args.postgres, tmp) as url:
        app = create_app({"database_url": url, "env": "test", "instance_dir": tmp / "instance",
                          "public_url": "http://localhost"})
        app.config["RATELIMIT_ENABLED"] = False
        upgrade_all(app)
        from bayline.storage import LocalStorage

        app.extensions["bayline.storage"] = LocalStorage(tmp / "storage")
        _shop, _owner, claim = busy_claim(app, *_factories(app))
        client = _portal_client(app, claim)

        def page() -> bytes:
            resp = client.get("/c/s/", headers=NO_CACHE)
            assert resp.status_code == 200, resp.status_code
            return resp.get_data()

        for _ in range(args.warm):
            html = page()
        if args.out:
            Path(args.out).write_bytes(html)

        sent: list[str] = []
        engine = get_db(app).engine
        event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
        page()
        statements = len(sent)

        n = args.pages
        if args.callgrind:
            _callgrind_toggle()
        cpu0 = time.process_time()
        for _ in range(n):
            page()
        cpu = (time.process_time() - cpu0) / n
        if args.callgrind:
            _callgrind_toggle()

        profile = cProfile.Profile()
        profiled = 0 if args.no_profile else max(1, min(n, 100))
        profile.enable()
        for _ in range(profiled):
            page()
        profile.disable()

        backend = engine.name
        print(f"backend {backend}: {n} pages, {len(html)} bytes each, {statements} statements per page")
        print(f"CPU per page (process_time): {cpu * 1000:.2f} ms")
        if profiled:
            calls = pstats.Stats(profile).total_calls / profiled  # type: ignore[attr-defined]
            print(f"function calls per page (cProfile, {profiled} pages): {calls:,.0f}")
        if args.top and profiled:
            buf = io.StringIO()
            pstats.Stats(profile, stream=buf).sort_stats(args.sort).print_stats(args.top)
            print(buf.getvalue())
        get_db(app).dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
