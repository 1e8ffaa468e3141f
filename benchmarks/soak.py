"""Load and soak (``make soak``; not part of ``make test``): gunicorn with 2 workers on PostgreSQL + Redis,
a bounded threaded load generator on loopback, a realistic mix, for ``SOAK_SECONDS`` (default 1800).

Mix (per simulated user, picked at random with these weights, 20-100 ms think time): customer portal
page views with a verified session cookie, portal link entry (token → session), customer messages from
the portal, staff production-board and claim-page views, stage changes and claim reads through the API.
Beside them ``SOAK_SSE`` customers hold the SSE stream open and reconnect when it ends (stage changes
and messages on their claims reach them). Writes SOAK.md: throughput, p50/p99 per action, errors, worker
RSS at start (after a warm-up) and end. Exits 1 on any error (5xx, unexpected status, transport error).

Environment: ``SOAK_SECONDS`` (1800), ``SOAK_USERS`` (8 threads), ``SOAK_SSE`` (12 streams),
``SOAK_SHOPS`` (4), ``SOAK_CLAIMS`` (claims per shop, 25), ``SOAK_OUT`` (SOAK.md), ``SOAK_TRACEMALLOC``
(set: each worker traces its Python allocations; SOAK.md lists what grew most, by source line).
"""
from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from . import stack
from .harness import machine

WEIGHTS = {"portal_page": 40, "portal_entry": 5, "portal_message": 5, "staff_board": 15, "staff_claim": 10,
           "api_claim": 15, "api_stage_change": 10}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.error_count = 0
        self.sse = {"connections": 0, "events": 0, "heartbeats": 0}

    def ok(self, action: str, seconds: float) -> None:
        with self.lock:
            self.latency[action].append(seconds)

    def error(self, action: str, detail: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 20:
                self.errors.append(f"{action}: {detail}")

    def bump(self, key: str) -> None:
        with self.lock:
            self.sse[key] += 1


class Client:
    """One keep-alive connection with a cookie; reconnects after a transport error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, headers: dict[str, str], body: str | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:  # a keep-alive connection closed by the server is retried once
                    raise
        raise AssertionError("unreachable")


class Soak:
    def __init__(self, seconds: float, users: int, sse: int, shops: int, claims: int) -> None:
        self.seconds, self.users, self.sse_count = seconds, users, sse
        self.n_shops, self.n_claims = shops, claims
        self.rec = Recorder()
        self.stop_at = 0.0
        self.stage_lock = threading.Lock()

    # -- setup --------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.tmp = stack.workdir("bayline-soak-")
        self.secret = secrets.token_urlsafe(48)
        self.redis = stack.RedisServer(self.tmp)
        self.db = stack.Database()
        print(f"soak: database {self.db.name}, redis :{self.redis.port}", flush=True)
        stack.migrate(self.db.url, self.tmp, self.secret)
        self.shops = stack.seed(self.db.url, self.tmp, self.secret, self.n_shops, self.n_claims)
        env = stack.app_env(self.db.url, self.redis.url, self.tmp, self.secret,
                            BENCH_SSE_HEARTBEAT="5", BENCH_SSE_MAX_SECONDS="60",
                            **({"BENCH_TRACEMALLOC": "1"} if os.environ.get("SOAK_TRACEMALLOC") else {}))
        self.server = stack.Gunicorn("benchmarks.wsgi_app:app", env, self.tmp / "gunicorn.log", workers=2)
        self.staff = {s.id: stack.staff_cookie(self.secret, self.tmp, self.db.url, s.user_id, s.id)
                      for s in self.shops}
        self.claims = [(s, c) for s in self.shops for c in s.claims]
        self.cookies = {c.id: stack.portal_cookie(self.server, c.token) for _, c in self.claims}

    def teardown(self) -> None:
        for part in ("server", "db", "redis"):
            thing = getattr(self, part, None)
            if thing is not None:
                try:
                    thing.stop() if part != "db" else thing.drop()
                except Exception as exc:  # keep tearing down the rest
                    print(f"soak: could not stop {part}: {exc}", file=sys.stderr)

    # -- actions ------------------------------------------------------------------------------------
    def act(self, client: Client, action: str, rnd: random.Random) -> None:
        shop, claim = rnd.choice(self.claims)
        portal = {"Cookie": self.cookies[claim.id], "Accept": "text/html"}
        staff = {"Cookie": self.staff[shop.id], "Accept": "text/html"}
        api = {"Authorization": f"Bearer {shop.api_key}", "Accept": "application/json"}
        expect = 200
        if action == "portal_page":
            req = ("GET", "/c/s/", portal, None)
        elif action == "portal_entry":
            req, expect = ("GET", f"/c/{claim.token}", {"Accept": "text/html"}, None), 303
        elif action == "portal_message":
            status, headers, body = client.request("GET", "/c/s/", portal)
            match = CSRF.search(body.decode("utf-8", "replace"))
            if status != 200 or match is None:
                self.rec.error(action, f"page for the form answered {status}")
                return
            if "set-cookie" in headers:  # the CSRF secret lives in the session: keep the cookie like a browser
                self.cookies[claim.id] = headers["set-cookie"].split(";", 1)[0]
                portal = {**portal, "Cookie": self.cookies[claim.id]}
            form = f"csrf_token={match.group(1)}&body=Any+news+on+the+car%3F"
            req, expect = ("POST", "/c/s/messages", {**portal, "Content-Type": "application/x-www-form-urlencoded"},
                           form), 303
        elif action == "staff_board":
            req = ("GET", "/console/", staff, None)
        elif action == "staff_claim":
            req = ("GET", f"/console/claims/{claim.id}", staff, None)
        elif action == "api_claim":
            req = ("GET", f"/api/v1/claims/{claim.id}", api, None)
        else:
            # Stages move forward through the first four, then back to the first (never terminal).
            with self.stage_lock:
                step = getattr(self, "_step", 0) + 1
                self._step = step
            stage_id = shop.stage_ids[step % min(4, len(shop.stage_ids))]
            req = ("POST", f"/api/v1/claims/{claim.id}/stage", {**api, "Content-Type": "application/json"},
                   f'{{"stage_id": {stage_id}}}')
        start = time.perf_counter()
        try:
            status, headers, body = client.request(*req)
        except Exception as exc:
            self.rec.error(action, f"{type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - start
        if action.startswith("portal_page") and "set-cookie" in headers:
            self.cookies[claim.id] = headers["set-cookie"].split(";", 1)[0]
        if status != expect:
            self.rec.error(action, f"{req[0]} {req[1]} answered {status}: {body[:200]!r}")
        else:
            self.rec.ok(action, elapsed)

    def user(self, seed: int) -> None:
        rnd = random.Random(seed)
        client = Client(self.server.port)
        actions, weights = list(WEIGHTS), list(WEIGHTS.values())
        while time.monotonic() < self.stop_at:
            self.act(client, rnd.choices(actions, weights)[0], rnd)
            time.sleep(rnd.uniform(0.02, 0.1))

    def sse_holder(self, index: int) -> None:
        _, claim = self.claims[index % len(self.claims)]
        while time.monotonic() < self.stop_at:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
            try:
                conn.request("GET", "/c/s/events", headers={"Cookie": self.cookies[claim.id], "Connection": "close",
                                                            "Accept": "text/event-stream"})
                r = conn.getresponse()
                if r.status != 200:
                    self.rec.error("sse", f"stream answered {r.status}")
                    time.sleep(1)
                    continue
                self.rec.bump("connections")
                while time.monotonic() < self.stop_at:
                    line = r.readline()  # de-chunked: b"" when the server ends the stream
                    if not line:
                        break  # the server ended the stream (max seconds): reconnect like a browser
                    if line.startswith(b"data:"):
                        self.rec.bump("events")
                    elif line.startswith(b": ping"):
                        self.rec.bump("heartbeats")
            except Exception as exc:
                self.rec.error("sse", f"{type(exc).__name__}: {exc}")
                time.sleep(1)
            finally:
                conn.close()

    def probe_memory(self) -> dict[int, dict]:
        """Each worker's tracemalloc answer (``/_bench/tracemalloc`` of benchmarks/wsgi_app.py), when the
        soak runs with SOAK_TRACEMALLOC=1; asked until every worker answered (connections land on
        either worker)."""
        import json

        if not os.environ.get("SOAK_TRACEMALLOC"):
            return {}
        found: dict[int, dict] = {}
        workers = set(self.server.worker_pids())
        for _ in range(200):
            if workers <= set(found):
                break
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=600)  # snapshots are slow
            try:
                conn.request("GET", "/_bench/tracemalloc")
                r = conn.getresponse()
                status, body = r.status, r.read()
            finally:
                conn.close()
            if status == 200:
                answer = json.loads(body)
                found[answer["pid"]] = answer
        return found

    # -- run ----------------------------------------------------------------------------------------
    def run(self) -> int:
        started = dt.datetime.now(dt.UTC)
        self.setup()
        try:
            warm = time.monotonic() + 5
            self.stop_at = warm
            self.user(0)  # warm both workers' caches before the start RSS is taken
            self.traced_start = self.probe_memory()  # tracemalloc baselines (SOAK_TRACEMALLOC=1)
            rss_start = self.server.worker_rss()
            self.rec = Recorder()
            begin = time.monotonic()
            self.stop_at = begin + self.seconds
            threads = [threading.Thread(target=self.sse_holder, args=(i,), daemon=True) for i in range(self.sse_count)]
            threads += [threading.Thread(target=self.user, args=(i + 1,), daemon=True) for i in range(self.users)]
            for t in threads:
                t.start()
            samples = [(0.0, sum(rss_start.values()))]
            while time.monotonic() < self.stop_at:
                time.sleep(min(30.0, max(self.stop_at - time.monotonic(), 0.01)))
                samples.append((time.monotonic() - begin, sum(self.server.worker_rss().values())))
            wall = time.monotonic() - begin  # the load window (stragglers finish their last request below)
            for t in threads:
                t.join(timeout=30)
            rss_end = self.server.worker_rss()
            self.traced_end = self.probe_memory()
            alive = [t for t in threads if t.is_alive()]
            if alive:
                self.rec.error("generator", f"{len(alive)} load threads did not stop")
        finally:
            self.teardown()
        self.report(started, wall, rss_start, rss_end, samples)
        if self.rec.error_count:
            print(f"soak: errors; gunicorn log kept in {self.tmp / 'gunicorn.log'}", file=sys.stderr)
            return 1
        shutil.rmtree(self.tmp, ignore_errors=True)
        return 0

    def report(self, started: dt.datetime, wall: float, rss_start: dict[int, int], rss_end: dict[int, int],
               samples: list[tuple[float, int]]) -> None:
        rec = self.rec
        total = sum(len(v) for v in rec.latency.values())
        every = [x for v in rec.latency.values() for x in v]
        mb = 1024 * 1024
        start_sum, end_sum = sum(rss_start.values()), sum(rss_end.values())
        growth = (end_sum / start_sum - 1) * 100 if start_sum else float("nan")
        same_workers = set(rss_start) == set(rss_end)
        lines = [
            "# Soak", "",
            f"Generated by `make soak SOAK_SECONDS={int(self.seconds)}` on {started:%Y-%m-%d %H:%M} UTC; "
            f"machine: {machine()}.",
            "gunicorn 2 workers (gthread, 16 threads) on PostgreSQL (throwaway database) + Redis (own server), "
            f"{self.n_shops} shops x {self.n_claims} claims; {self.users} simulated users (20-100 ms think time) "
            f"and {self.sse_count} SSE streams held open (reconnecting every 60 s); rate limits off (one client IP).",
            "", "| figure | value | goal | result |", "|---|---|---|---|",
            f"| duration | {wall:.0f} s | {int(self.seconds)} s | "
            f"{'met' if wall >= self.seconds * 0.98 else 'missed'} |",
            f"| requests | {total} ({total / wall:.1f} req/s) | | |",
            f"| latency p50 / p99 (all) | {pct(every, 50) * 1000:.1f} ms / {pct(every, 99) * 1000:.1f} ms | | |",
            f"| errors | {rec.error_count} | 0 | {'met' if rec.error_count == 0 else 'missed'} |",
            f"| worker RSS start → end | {start_sum / mb:.1f} MB → {end_sum / mb:.1f} MB ({growth:+.1f} %)"
            f"{'' if same_workers else ' (a worker was replaced!)'} | < 5 % growth over 30 min | "
            f"{'met' if growth < 5 and same_workers else 'missed'}"
            f"{'' if self.seconds >= 1800 else ' (short run: indicative only)'} |",
            f"| SSE | {rec.sse['connections']} connections, {rec.sse['events']} events, "
            f"{rec.sse['heartbeats']} heartbeats | | |",
            "", "| action | requests | p50 | p99 |", "|---|---|---|---|",
        ]
        for action in WEIGHTS:
            values = rec.latency.get(action, [])
            lines.append(f"| {action} | {len(values)} | {pct(values, 50) * 1000:.1f} ms | "
                         f"{pct(values, 99) * 1000:.1f} ms |")
        lines += ["", "Worker RSS (MB) per process, start → end: " + ", ".join(
            f"pid {pid}: {rss_start[pid] / mb:.1f} → {rss_end.get(pid, 0) / mb:.1f}" for pid in rss_start) + ".",
            "", "RSS of both workers over the run (MB): " + ", ".join(f"{t:.0f} s: {v / mb:.1f}" for t, v in samples)
            + "."]
        start_traced, end_traced = getattr(self, "traced_start", {}), getattr(self, "traced_end", {})
        if end_traced:
            lines += ["", "tracemalloc (SOAK_TRACEMALLOC=1: Python allocations traced in each worker, which slows "
                      "them; latencies of such a run are not comparable): traced memory start → end, and the "
                      "source lines that grew most since the start:"]
            for pid, answer in end_traced.items():
                before = start_traced.get(pid, {}).get("traced", 0)
                lines += ["", f"- pid {pid}: {before / mb:.1f} MB → {answer['traced'] / mb:.1f} MB"]
                lines += [f"  - {g['where']}: +{g['kb']:.0f} KB ({g['count']:+d} blocks)" for g in answer["growth"][:8]]
        if rec.errors:
            lines += ["", "First errors:", "", *[f"- `{e}`" for e in rec.errors]]
        if every:
            lines += ["", f"Mean latency {statistics.mean(every) * 1000:.1f} ms."]
        out = Path(os.environ.get("SOAK_OUT") or stack.ROOT / "SOAK.md")
        out.write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


def main() -> None:
    soak = Soak(float(os.environ.get("SOAK_SECONDS", "1800")), int(os.environ.get("SOAK_USERS", "8")),
                int(os.environ.get("SOAK_SSE", "12")), int(os.environ.get("SOAK_SHOPS", "4")),
                int(os.environ.get("SOAK_CLAIMS", "25")))
    sys.exit(soak.run())


if __name__ == "__main__":
    main()
