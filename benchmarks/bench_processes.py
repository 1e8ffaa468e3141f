"""Lean processes (issue 18 item 4/5): CLI and worker start times, and worker memory.

* ``flask --app wsgi --help`` wall time (median of 3) and the biggest imports of ``import wsgi``
  (``python -X importtime``, cumulative);
* a Celery worker's start: ``celery -A wsgi:celery_app worker`` (solo pool, Redis broker) until it
  logs ``ready``;
* gunicorn (2 gthread workers) worker RSS and PSS after boot, with and without ``--preload``, and
  after a burst of rendered portal pages (``BENCH_MEMORY_REQUESTS``, default 20,000, wrk).

Start times are wall clock on a shared machine: the goal (< 2 s) is for a quiet one, so the load
average at the run's start is printed next to them.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import stack
from .harness import Result

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINE_")}
    env.update({"BAYLINE_ENV": "development", "BAYLINE_DATABASE_URL": f"sqlite:///{tmp}/cli.db",
                "BAYLINE_SECRET_KEY": secrets.token_urlsafe(48), "BAYLINE_INSTANCE_DIR": str(tmp / "instance"),
                "PYTHONPATH": str(ROOT), **extra})
    return env


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "load unknown"


def cli_start(tmp: Path) -> Result:
    flask = Path(sys.executable).with_name("flask")
    times = []
    load = _load()
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(flask), "--app", "wsgi", "--help"], cwd=ROOT, env=_env(tmp), capture_output=True,
                       check=True, timeout=300)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return Result(f"CLI start: flask --app wsgi --help (median of 3; {load})", f"{seconds:.2f} s", None,
                  "< 2 s on a quiet machine (issue 18)", seconds < 2.0)


def import_profile(tmp: Path) -> Result:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import wsgi"], cwd=ROOT, env=_env(tmp),
                          capture_output=True, text=True, timeout=300)
    rows, every = [], []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        every.append(m.group(4))
        if len(m.group(3)) <= 3:  # wsgi and what it imports directly
            rows.append((int(m.group(2)), int(m.group(1)), m.group(4)))
    rows.sort(reverse=True)
    total = max((us for us, _, name in rows if name == "wsgi"), default=0)
    own = next((us for _, us, name in rows if name == "wsgi"), 0)  # the module body: create_app()
    top = ", ".join(f"{name} {us / 1e6:.2f} s" for us, _, name in rows[:6] if name != "wsgi")
    heavy = sorted({name.split(".")[0] for name in every if name.split(".")[0] in (
        "telnyx", "pyhanko", "asn1crypto", "reportlab", "alembic")})
    return Result(f"import wsgi (python -X importtime; {_load()}): total, create_app, the largest imports",
                  f"{total / 1e6:.2f} s (create_app {own / 1e6:.2f} s): {top}; heavy SDKs imported: "
                  f"{', '.join(heavy) or 'none'}", None,
                  "no telnyx, pyHanko, asn1crypto, reportlab, alembic at app import", not heavy)


def worker_start(tmp: Path, redis: stack.RedisServer) -> Result:
    celery = Path(sys.executable).with_name("celery")
    log = tmp / "celery.log"
    load = _load()
    start = time.perf_counter()
    proc = subprocess.Popen([str(celery), "-A", "wsgi:celery_app", "worker", "--pool", "solo", "--loglevel", "INFO",
                             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "bench@%h"],
                            cwd=ROOT, env=_env(tmp, BAYLINE_REDIS_URL=redis.url), stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    seconds = None
    try:
        ends = time.monotonic() + 300
        while time.monotonic() < ends and proc.poll() is None:
            if b" ready." in log.read_bytes():
                seconds = time.perf_counter() - start
                break
            time.sleep(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if seconds is None:
        return Result("Celery worker start (until ready)", "did not start: " + log.read_text(errors="replace")[-300:],
                      None, "< 2 s on a quiet machine (issue 18)", False)
    return Result(f"Celery worker start: celery -A wsgi:celery_app worker, solo pool, until ready ({load})",
                  f"{seconds:.2f} s", None, "< 2 s on a quiet machine (issue 18)", seconds < 2.0)


def memory(tmp: Path, redis: stack.RedisServer) -> list[Result]:
    from .bench_portal import RENDER, wrk

    requests = int(os.environ.get("BENCH_MEMORY_REQUESTS", "20000"))
    secret = secrets.token_urlsafe(48)
    db = stack.Database()
    results = []
    try:
        stack.migrate(db.url, tmp, secret)
        shops = stack.seed(db.url, tmp, secret, 1, 2)
        claim = shops[0].claims[0]
        stack.enrich_claim(db.url, tmp, secret, shops[0], claim.id)
        env = stack.app_env(db.url, redis.url, tmp, secret)
        figures = {}
        for preload in (True, False):
            server = stack.Gunicorn("benchmarks.wsgi_app:app", env, tmp / f"mem-{preload}.log", preload=preload)
            try:
                cookie = stack.portal_cookie(server, claim.token)
                server.get("/c/s/", {"Cookie": cookie})
                boot = server.worker_memory()
                figures[preload] = boot
                if preload:
                    done, began = 0, time.monotonic()
                    while done < requests and time.monotonic() - began < 600:
                        rps = wrk(server.base + "/c/s/", cookie, seconds=5, connections=8, headers=RENDER)
                        done += int(rps * 5)
                    after = server.worker_memory()
            finally:
                server.stop()
        rss = max(r for r, _ in figures[True].values()) / MB
        pss = max(p for _, p in figures[True].values()) / MB
        rss_plain = max(r for r, _ in figures[False].values()) / MB
        pss_plain = max(p for _, p in figures[False].values()) / MB
        results.append(Result("Worker memory after boot, gunicorn --preload (largest worker: RSS, PSS) vs without",
                              f"RSS {rss:.0f} MB, PSS {pss:.0f} MB vs RSS {rss_plain:.0f} MB, PSS {pss_plain:.0f} MB",
                              pss / pss_plain, "RSS < 110 MB with --preload (issue 18)", rss < 110))
        grown = max(r for r, _ in after.values()) / MB
        results.append(Result(f"Worker RSS after ~{done:,} rendered portal pages (--preload, largest worker)",
                              f"{rss:.0f} MB → {grown:.0f} MB", grown / rss, "for reading (soak: < 5 % in 30 min)",
                              True))
    finally:
        db.drop()
    return results


def run() -> list[Result]:
    tmp = stack.workdir("bayline-bench-proc-")
    results = [cli_start(tmp), import_profile(tmp)]
    if shutil.which("redis-server") is None:
        results.append(Result("Celery worker start and worker memory", "skipped: redis-server is not installed", None,
                              "services available", False))
        return results
    redis = stack.RedisServer(tmp)
    try:
        results.append(worker_start(tmp, redis))
        reason = __import__("benchmarks.bench_portal", fromlist=["missing_services"]).missing_services()
        if reason:
            results.append(Result("Worker memory", f"skipped: {reason}", None, "services available", False))
        else:
            results += memory(tmp, redis)
    finally:
        redis.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return results
