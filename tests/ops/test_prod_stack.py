"""`make prod` smoke test: the real production stack (``python -m bayline.ops.prod``: generated
production env file, ``flask db upgrade``, honcho running gunicorn with 2 gthread workers, a Celery
worker, Celery beat and Redis) on a throwaway PostgreSQL database, driven end to end over HTTP, then
stopped cleanly (issue 19 item 2).

Scenario: ``/-/ready`` answers 200; a shop and an API key are made with the production CLI; a claim
is opened through the API; the customer's portal page holds its SSE stream while the claim's stage
moves through the API (the event crosses gunicorn processes through Redis pub/sub); a photo uploaded
through the API is processed by the Celery worker (status ``ready``; the portal hears
``photo.published``); a text sent through the outbox (the SMS plugin's API) reaches the local Telnyx
stand-in from the worker; a scheduled outbox item (``due_at`` seconds ahead, stored ``held``) is released
by Celery beat's ``dispatch_due`` and reaches the stand-in too; the metrics, gathered from every process
through the multiprocess directory, count the API requests and the worker's task; the access log is JSON
carrying the request id the client sent; SIGTERM stops every process. Parametrised over the broker:
Redis, and RabbitMQ when ``rabbitmq-server`` is installed (skipped with the reason otherwise).

Every wait is on a readiness signal with a generous ceiling (bayline.testing.processes).
"""
from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from bayline_sms.testing.telnyx_standin import API_KEY, TelnyxStandIn

from bayline.ops.prod import settings_file
from bayline.testing.databases import postgres_reachable
from bayline.testing.processes import READY_SECONDS, wait_until

ROOT = Path(__file__).resolve().parents[2]


class Rabbit:
    """A RabbitMQ node of the test's own (own node name, ports and data directory)."""

    def __init__(self) -> None:
        from benchmarks.stack import free_port

        self.port, dist = free_port(), free_port()
        self.name = f"bayline-{os.getpid()}-{self.port}@localhost"
        import tempfile

        # Debian's rabbitmq-server runs the node as the rabbitmq user: its directory must be theirs
        base = Path(tempfile.mkdtemp(prefix="bayline-rabbit-"))
        base.chmod(0o755)
        self.base = base
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.name, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(dist), "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                    "RABBITMQ_PID_FILE": str(base / "pid"), "HOME": str(base)}
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        if os.geteuid() == 0:
            for path in [base, *base.iterdir()]:
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.log = Path(tempfile.mkdtemp(prefix="bayline-rabbit-log-")) / "out.log"
        self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env, stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"

        def answers() -> bool:
            import kombu

            try:
                with kombu.Connection(self.url, connect_timeout=2) as conn:
                    conn.ensure_connection(max_retries=1)
                return True
            except Exception:
                return False

        wait_until(answers, "RabbitMQ to accept connections",
                   alive=lambda: None if self.proc.poll() is None else self.log.read_text(errors="replace"))

    def stop(self) -> None:
        """``rabbitmqctl stop`` (the node runs as another user, in a session of its own), then wait."""
        subprocess.run(["rabbitmqctl", "-n", self.name, "stop"], env=self.env, capture_output=True,
                       timeout=READY_SECONDS)
        try:
            self.proc.wait(timeout=READY_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request, tmp_path):
    if request.param == "redis":
        yield {}
        return
    if shutil.which("rabbitmq-server") is None:
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    rabbit = Rabbit()
    try:
        yield {"BAYLINE_CELERY_BROKER_URL": rabbit.url}
    finally:
        rabbit.stop()


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def listen(client: httpx.Client, url: str, cookie: str, lines: queue.Queue) -> None:
    try:
        with client.stream("GET", url, headers={"Cookie": cookie}, timeout=httpx.Timeout(30, read=None)) as r:
            for line in r.iter_lines():
                lines.put(line)
    except httpx.HTTPError as exc:
        lines.put(f"!! {exc}")


def next_line(lines: queue.Queue, needle: str) -> str:
    """Read the stream until a line holds ``needle`` (returned)."""
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=READY_SECONDS)
        except queue.Empty:
            raise AssertionError(f"{needle!r} never came on the stream; got {seen}") from None
        seen.append(line)
        if needle in line:
            return line
        assert not line.startswith("!!"), seen


@pytest.fixture
def telnyx_api():
    server = TelnyxStandIn().start()
    yield server
    server.stop()


SCHEDULE = """
import sys
from datetime import timedelta

from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.messaging import service as outbox
from bayline.tenancy import set_tenant
from bayline.tenants.models import Shop
from wsgi import app

with app.app_context():
    session = get_session()
    shop = session.scalar(select(Shop).where(Shop.slug == "smoke"))
    set_tenant(shop.id)
    claim = session.scalar(select(Claim).where(Claim.number == "RO-1"))
    item, created = outbox.enqueue(channel="sms", purpose="transactional", recipient=claim.customer_mobile,
                                   body=sys.argv[1], idempotency_key="smoke-scheduled-1", claim=claim,
                                   kind="automatic", due_at=utcnow() + timedelta(seconds=5))
    print(item.id, item.state)
"""


def test_make_prod_stack_end_to_end(broker, tmp_path, telnyx_api):
    ok, reason = postgres_reachable()
    if not ok:
        pytest.skip(reason)
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from benchmarks.stack import Database, free_port

    db = Database()
    port = free_port()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINE_") or k.startswith("BAYLINE_TEST")}
    env.update({"BAYLINE_INSTANCE_DIR": str(instance), "BAYLINE_DATABASE_URL": db.url, "BAYLINE_PORT": str(port),
                "BAYLINE_PROD_REDIS_PORT": str(free_port()), "BAYLINE_PUBLIC_URL": "https://status.example.test",
                "BAYLINE_TRUSTED_HOSTS": "127.0.0.1", "BAYLINE_PLUGIN_SMS_TELNYX_API_KEY": API_KEY,
                "BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL": telnyx_api.base_url,
                "BAYLINE_PLUGIN_SMS_TELNYX_MAX_RETRIES": "0", **broker})
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "stack.log"
    stack = subprocess.Popen([sys.executable, "-m", "bayline.ops.prod"], cwd=ROOT, env=env,
                             stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=READY_SECONDS)
    lines: queue.Queue = queue.Queue()

    def dead() -> str | None:
        return None if stack.poll() is None else f"the stack exited:\n{log.read_text(errors='replace')[-4000:]}"

    def answers(path: str) -> bool:
        try:
            return http.get(path).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(lambda: answers("/-/ready"), "the stack to be ready", alive=dead)
        ready = http.get("/-/ready").json()
        assert set(ready["checks"]) == {"database", "redis", "broker", "migrations"}
        wait_until(lambda: " ready." in log.read_text(errors="replace"), "the Celery worker", alive=dead)
        settings = settings_file(instance / "prod.env", env)
        assert settings["BAYLINE_ENV"] == "production" and len(settings["BAYLINE_SECRET_KEY"]) >= 32
        cli_env = {**env, **settings, "PYTHONPATH": str(ROOT)}

        def cli(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "bayline", *args], cwd=ROOT,
                                  env=cli_env, capture_output=True, text=True, timeout=READY_SECONDS)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        cli("create-shop", "--group", "Smoke Group", "--name", "Smoke Collision", "--slug", "smoke", "--plan",
            "elite")
        key = re.search(r"bl_\S+", cli("rotate-api-key", "--shop", "smoke", "--name", "smoke", "--scope",
                                       "admin")).group(0)
        api = {"Authorization": f"Bearer {key}"}
        r = http.patch("/api/v1/shop/settings", json={"portal.verification": "off", "messaging.quiet_hours_start": "",
                                                      "messaging.quiet_hours_end": ""}, headers=api)
        assert r.status_code == 200, r.text
        r = http.put("/plugins/sms/number", json={"phone_number": "+16175550199", "messaging_profile_id": "mp-1"},
                     headers=api)
        assert r.status_code == 200, r.text

        r = http.post("/api/v1/claims", headers={**api, "X-Request-ID": "smoke-open-claim-1"}, json={
            "number": "RO-1", "customer_first_name": "Dana", "customer_last_name": "Reyes",
            "customer_mobile": "+16175550100", "vehicle_year": 2020, "vehicle_make": "Honda",
            "vehicle_model": "Civic"})
        assert r.status_code == 201, r.text
        assert r.headers["X-Request-ID"] == "smoke-open-claim-1"
        claim = r.json()
        stages = http.get("/api/v1/stages", headers=api).json()
        link = http.post(f"/api/v1/claims/{claim['id']}/portal-link", json={}, headers=api).json()["url"]
        token_path = "/c/" + link.rsplit("/c/", 1)[1]

        opened = http.get(token_path, follow_redirects=False)
        assert opened.status_code == 303, opened.text[:300]
        cookie = opened.headers["set-cookie"].split(";", 1)[0]
        page = http.get("/c/s/", headers={"Cookie": cookie})
        assert page.status_code == 200 and "RO-1" in page.text
        cookie = page.headers.get("set-cookie", cookie).split(";", 1)[0]
        stream = httpx.Client(base_url=base)
        threading.Thread(target=listen, args=(stream, "/c/s/events", cookie, lines), daemon=True).start()
        next_line(lines, ": connected")

        target = next(s for s in stages if s["id"] != claim["stage"]["id"])
        r = http.post(f"/api/v1/claims/{claim['id']}/stage", json={"stage_id": target["id"]}, headers=api)
        assert r.status_code == 200, r.text
        assert "claim.stage_changed" in next_line(lines, "claim.stage_changed")

        r = http.post(f"/api/v1/claims/{claim['id']}/photos", headers={**api, "X-Request-ID": "smoke-photo-0001"},
                      files={"files": ("front.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 201, r.text
        photo = r.json()[0]
        assert photo["status"] == "processing"  # queued on the broker for the worker
        wait_until(lambda: http.get(f"/api/v1/claims/{claim['id']}/photos/{photo['id']}", headers=api)
                   .json()["status"] == "ready", "the worker to process the photo", alive=dead)
        assert "photo.published" in next_line(lines, "photo.published")

        # a text through the outbox: the API queues it, the worker hands it to the Telnyx stand-in
        def texts(body: str) -> list[dict]:
            return [m for m in telnyx_api.sent_to("+16175550100") if body in (m.get("text") or "")]

        r = http.post(f"/plugins/sms/claims/{claim['id']}/messages", json={"body": "Your Civic is in paint."},
                      headers=api)
        assert r.status_code == 202, r.text
        wait_until(lambda: texts("Your Civic is in paint."), "the text at the Telnyx stand-in", alive=dead)
        assert texts("Your Civic is in paint.")[0]["from"]["phone_number"] == "+16175550199"

        # a scheduled item: stored held with its due time; only beat's dispatch_due releases it. No API
        # takes a due time, so it is made the way the product's reminders are: the messaging service,
        # in a process of its own with the stack's production settings
        scheduled = subprocess.run([sys.executable, "-c", SCHEDULE, "Reminder: pick-up at 5 pm."], cwd=ROOT,
                                   env=cli_env, capture_output=True, text=True, timeout=READY_SECONDS)
        assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
        item_id, state = scheduled.stdout.split()[-2:]
        assert state == "held"
        sent = wait_until(lambda: texts("Reminder: pick-up at 5 pm."), "beat to fire the scheduled text", alive=dead)
        # the worker records the provider's message id on the row once Telnyx accepted it
        wait_until(lambda: http.get(f"/api/v1/outbox/{item_id}", headers=api).json()["provider_id"] == sent[0]["id"],
                   "the scheduled item to record its provider id", alive=dead)

        scrape = {"Authorization": f"Bearer {settings['BAYLINE_METRICS_TOKEN']}"}
        # the task commits the photo before Celery's postrun signal records its run time: wait for it
        task_seen = re.compile(r'bayline_task_duration_seconds_count\{task="bayline.photos.process_photo"\} [1-9]')
        wait_until(lambda: task_seen.search(http.get("/-/metrics", headers=scrape).text),
                   "the worker's task in the metrics", alive=dead)
        metrics = http.get("/-/metrics", headers=scrape)
        assert metrics.status_code == 200
        assert re.search(r'bayline_http_request_duration_seconds_count\{endpoint="api_claims.Claims",'
                         r'method="POST",status="201"\} 1\.0', metrics.text)
        assert http.get("/-/metrics").status_code == 401  # production metrics need their token

        def access_lines() -> list[dict]:
            return [json.loads(line.split("| ", 1)[1]) for line in log.read_text(errors="replace").splitlines()
                    if "| {" in line and '"bayline.access"' in line]

        # honcho relays each process's output through a pipe of its own: wait for the line to arrive
        wait_until(lambda: any(a.get("request_id") == "smoke-photo-0001" for a in access_lines()),
                   "the photo upload's access line in the log", alive=dead)
        access = access_lines()
        photo_post = [a for a in access if a.get("request_id") == "smoke-photo-0001"]
        assert photo_post[0]["status"] == 201 and photo_post[0]["method"] == "POST"
        assert all("/c/[redacted]" == a["path"] for a in access if a["path"].startswith("/c/") and
                   not a["path"].startswith("/c/s/"))
        assert token_path not in log.read_text(errors="replace")
        stream.close()
    finally:
        http.close()
        if stack.poll() is None:
            stack.send_signal(signal.SIGTERM)
            try:
                stack.wait(timeout=READY_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait(timeout=60)
        db.drop()
    assert stack.returncode in (0, -signal.SIGTERM, 128 + signal.SIGTERM), log.read_text(errors="replace")[-3000:]
    text = log.read_text(errors="replace")
    for name in ("web.1", "worker.1", "beat.1", "redis.1"):
        assert f"{name} stopped" in text, text[-3000:]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/-/health", timeout=5)  # nothing left listening
