"""Real services for the load benchmarks and the soak, all on 127.0.0.1 and all torn down at the end:
a throwaway PostgreSQL database (migrated, seeded), a ``redis-server`` of our own on a free port, and
gunicorn (gthread workers, as the README recommends for SSE).

PostgreSQL comes from ``BAYLINE_BENCH_POSTGRES_URL`` / ``BAYLINE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); the admin connection only creates and drops
``bayline_bench_*`` databases.
"""
from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
STAFF_PASSWORD = "correct-horse-42"
# The SMS plugin would try to reach Telnyx over the network; these runs stay on loopback.
DENY_PLUGINS = ["sms"]


def admin_url() -> str:
    return os.environ.get("BAYLINE_BENCH_POSTGRES_URL") or os.environ.get("BAYLINE_TEST_POSTGRES_URL") or DEFAULT_PG


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


class Database:
    """``CREATE DATABASE bayline_bench_<random>`` (optionally from a template); dropped by ``drop()``."""

    def __init__(self, template: Database | None = None) -> None:
        self.name = f"bayline_bench_{uuid.uuid4().hex[:10]}"
        extra = f' TEMPLATE "{template.name}"' if template else ""
        self._admin(f'CREATE DATABASE "{self.name}"{extra}')
        self.url = make_url(admin_url()).set(database=self.name).render_as_string(hide_password=False)

    @staticmethod
    def _admin(sql: str) -> None:
        with psycopg.connect(libpq(admin_url()), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def execute(self, sql: str, params: Any = None) -> list[Any]:
        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class RedisServer:
    """A redis-server of our own on a free port (never the shared one on 6379)."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def wait_port(port: int, seconds: float) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {seconds} s")


def app_env(db_url: str, redis_url: str | None, tmp: Path, secret_key: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINE_") or k.startswith("BAYLINE_TEST")}
    env.update({"BAYLINE_ENV": "development", "BAYLINE_DATABASE_URL": db_url, "BAYLINE_SECRET_KEY": secret_key,
                "BAYLINE_PLUGINS": ",".join(f"-{name}" for name in DENY_PLUGINS),
                "BAYLINE_INSTANCE_DIR": str(tmp / "instance"), "PYTHONPATH": str(ROOT), **extra})
    if redis_url:
        env["BAYLINE_REDIS_URL"] = redis_url
    return env


class Gunicorn:
    """``gunicorn -w N -k gthread --threads T`` on a free loopback port; ``stop()`` ends it."""

    def __init__(self, app: str, env: dict[str, str], log: Path, workers: int = 2, threads: int = 16,
                 preload: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**env, "BAYLINE_PUBLIC_URL": self.base}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "120", "--graceful-timeout", "5",
             "--keep-alive", "30", *(["--preload"] if preload else []), app],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        self.log = log
        try:
            wait_port(self.port, 60)
            self.get("/robots.txt")
            ends = time.monotonic() + 60
            while len(self.worker_pids()) < workers and time.monotonic() < ends:
                time.sleep(0.2)
        except Exception:
            self.stop()
            raise RuntimeError("gunicorn did not start:\n" + log.read_text(errors="replace")[-3000:]) from None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, _, body = self.fetch(path, headers)
        return status, body

    def fetch(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, response headers and body of one GET."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        import psutil

        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def worker_cpu(self) -> list[float]:
        """CPU seconds (user + system) each worker has used so far."""
        import psutil

        out = []
        for pid in self.worker_pids():
            try:
                times = psutil.Process(pid).cpu_times()
                out.append(times.user + times.system)
            except psutil.NoSuchProcess:
                out.append(0.0)
        return out

    def worker_rss(self) -> dict[int, int]:
        import psutil

        out = {}
        for pid in self.worker_pids():
            try:
                out[pid] = psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return out

    def worker_memory(self) -> dict[int, tuple[int, int]]:
        """(RSS, PSS) in bytes per worker: PSS splits pages shared with the master (``--preload``)."""
        import psutil

        out = {}
        for pid in self.worker_pids():
            try:
                info = psutil.Process(pid).memory_full_info()
                out[pid] = (info.rss, getattr(info, "pss", info.rss))
            except psutil.NoSuchProcess:
                pass
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# -- data -------------------------------------------------------------------------------------------

@dataclass
class SeededClaim:
    id: int
    token: str


@dataclass
class SeededShop:
    id: int
    user_id: int
    api_key: str
    stage_ids: list[int]
    claims: list[SeededClaim] = field(default_factory=list)


def make_app(db_url: str, tmp: Path, secret_key: str) -> Any:
    from bayline import create_app

    return create_app({"database_url": db_url, "instance_dir": tmp / "instance", "secret_key": secret_key,
                       "env": "development", "plugins_deny": list(DENY_PLUGINS)})


def migrate(db_url: str, tmp: Path, secret_key: str) -> None:
    from bayline.db import get_db
    from bayline.migrate import upgrade_all

    app = make_app(db_url, tmp, secret_key)
    upgrade_all(app)
    get_db(app).dispose()


def seed(db_url: str, tmp: Path, secret_key: str, shops: int, claims_per_shop: int,
         detailed_shops: int | None = None) -> list[SeededShop]:
    """``shops`` shops (portal verification off, so a token link opens the page) with ``claims_per_shop``
    claims each, through the real services. The first ``detailed_shops`` (default all) also get a staff
    owner and an API key, and their claims' portal links are returned."""
    from sqlalchemy import select

    from bayline import settings_registry
    from bayline.auth.api_keys import create_api_key
    from bayline.claims import service
    from bayline.claims.models import Stage
    from bayline.db import get_db, get_session
    from bayline.events import commit
    from bayline.portal import tokens
    from bayline.tenancy import set_tenant, unscoped
    from bayline.tenants import provisioning

    detailed = shops if detailed_shops is None else detailed_shops
    app = make_app(db_url, tmp, secret_key)
    out: list[SeededShop] = []
    makes = ["Honda Civic", "Toyota Camry", "Ford F-150", "Subaru Outback", "Tesla Model 3"]
    with app.app_context():
        session = get_session()
        run = secrets.token_hex(3)
        for n in range(shops):
            with unscoped(session):
                group = provisioning.create_group(f"Group {n}", f"g-{run}-{n}")
                shop = provisioning.create_shop(group, f"Bench Collision {n}", slug=f"s-{run}-{n}", plan="elite",
                                                phone="+16175550123")
                user = None
                if n < detailed:
                    user = provisioning.create_user(f"owner{n}-{run}@bench.example", f"Owner {n}", STAFF_PASSWORD)
                    provisioning.add_membership(user, shop, "owner")
                session.flush()
            set_tenant(shop.id)
            settings_registry.set_values(shop.id, {"portal.verification": "off"}, role=None)
            stage_ids = list(session.scalars(select(Stage.id).order_by(Stage.position)))
            seeded = None
            if user is not None:
                _, key = create_api_key(shop.id, "bench", ["admin"], operator=True)
                seeded = SeededShop(shop.id, user.id, key, stage_ids)
            for c in range(claims_per_shop):
                make, model = makes[c % len(makes)].split(" ", 1)
                claim = service.create_claim({
                    "number": f"RO-{n:04d}-{c:05d}", "customer_first_name": "Dana", "customer_last_name": f"Reyes{c}",
                    "customer_mobile": "+16175550100", "vehicle_year": 2019, "vehicle_make": make,
                    "vehicle_model": model, "insurer": "Bay State Mutual"})
                session.flush()
                if seeded is not None:  # a fresh link (only hashes are stored): rotates the one made at creation
                    seeded.claims.append(SeededClaim(claim.id, tokens.issue(claim).raw))
            commit(session)
            set_tenant(None)
            if seeded is not None:
                out.append(seeded)
    get_db(app).dispose()
    return out


def enrich_claim(db_url: str, tmp: Path, secret_key: str, shop: SeededShop, claim_id: int) -> list[str]:
    """Give one claim what a busy portal page shows (issue 18): messages both ways, a ready
    customer-visible photo, a customer upload and an e-sign package (when the plugin is installed).
    Returns what was added."""
    import io

    from PIL import Image

    from bayline.claims.models import Claim
    from bayline.db import get_db, get_session
    from bayline.events import commit
    from bayline.messages import service as messages
    from bayline.photos import service as photos
    from bayline.tenancy import set_tenant

    app = make_app(db_url, tmp, secret_key)
    added = []
    with app.app_context():
        session = get_session()
        set_tenant(shop.id)
        claim = session.get(Claim, claim_id)
        messages.receive(claim, "When will it be ready?", channel="portal")
        messages.send(claim, "Friday: the parts are in and paint is booked.", shop.user_id)
        added.append("messages")
        jpeg = io.BytesIO()
        Image.new("RGB", (640, 480), (200, 30, 30)).save(jpeg, "JPEG")
        [photo], _ = photos.add_photos(claim, [photos.Incoming("front.jpg", jpeg.getvalue())], tag="before")
        photo.visibility = "customer"
        commit(session)
        photos.process(session.get(type(photo), photo.id))
        commit(session)
        added.append("photo")
        pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
              b"trailer<</Root 1 0 R>>\n%%EOF\n"
        try:
            photos.add_attachments(session.get(Claim, claim_id), [photos.Incoming("estimate.pdf", pdf)],
                                   source="customer")
            commit(session)
            added.append("upload")
        except Exception:  # an upload the checks refuse leaves the card empty, not the run
            session.rollback()
        if "esign" in app.extensions["bayline.plugins"].plugins:
            from bayline_esign import service as esign

            set_tenant(shop.id)
            esign.create_package(session.get(Claim, claim_id), ["repair_authorization"], shop_name="Bench Collision")
            commit(session)
            added.append("e-sign package")
    get_db(app).dispose()
    return added


def _columns(db: Database, table: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public' "
        "ORDER BY ordinal_position", (table,))]


def clone_shops(db: Database, source_shop_id: int, count: int) -> int:
    """Add ``count`` shops by copying one provisioned shop's row and stage set with SQL (provisioning a
    thousand shops through the services takes minutes; the copies only carry claims for the size
    benchmarks, the measured shop is a real one). Returns the number of shops now in the database."""
    cols = [c for c in _columns(db, "shops") if c not in ("id", "slug", "name")]
    col_list = ", ".join(f'"{c}"' for c in cols)
    db.execute(f"""
        INSERT INTO shops (slug, name, {col_list})
        SELECT 'copy-' || md5(random()::text) || '-' || g, 'Copy Collision ' || g, {col_list}
        FROM shops CROSS JOIN generate_series(1, {int(count)}) g WHERE shops.id = {int(source_shop_id)}""")
    stage_cols = [c for c in _columns(db, "stages") if c not in ("id", "tenant_id")]
    stage_list = ", ".join(f'"{c}"' for c in stage_cols)
    db.execute(f"""
        INSERT INTO stages (tenant_id, {stage_list})
        SELECT s.id, {", ".join(f'st."{c}"' for c in stage_cols)}
        FROM shops s CROSS JOIN stages st
        WHERE s.name LIKE 'Copy Collision %' AND st.tenant_id = {int(source_shop_id)}""")
    return int(db.execute("SELECT count(*) FROM shops")[0][0])


def bulk_claims(db: Database, per_shop: int) -> int:
    """Add ``per_shop`` claims to every shop with plain SQL (fast), each with a stage history row and an
    active portal link, then ANALYZE. Returns the number of claims now in the database."""
    batch = secrets.token_hex(3)  # claim numbers are unique per shop: a second call gets new ones
    db.execute(f"""
        INSERT INTO claims (tenant_id, number, claim_type, customer_first_name, customer_last_name, customer_mobile,
                            vehicle_year, vehicle_make, vehicle_model, insurer, stage_id, stage_entered_at,
                            created_at, updated_at)
        SELECT s.id, 'BULK-{batch}-' || g, 'insurance', 'Pat', 'Lee' || g, '+16175550111', 2018, 'Mazda', 'CX-5',
               'Bay State Mutual',
               (SELECT st.id FROM stages st WHERE st.tenant_id = s.id ORDER BY st.position
                OFFSET (g % 4) LIMIT 1),
               now() - (g % 30) * interval '1 day', now(), now()
        FROM shops s CROSS JOIN generate_series(1, {int(per_shop)}) g""")
    db.execute("""
        INSERT INTO stage_history (tenant_id, claim_id, from_stage_id, to_stage_id, at)
        SELECT c.tenant_id, c.id, NULL, c.stage_id, c.created_at FROM claims c WHERE c.number LIKE 'BULK-%'
          AND NOT EXISTS (SELECT 1 FROM stage_history h WHERE h.claim_id = c.id)""")
    db.execute("""
        INSERT INTO portal_tokens (tenant_id, claim_id, token_hash, state, created_at)
        SELECT c.tenant_id, c.id, encode(sha256(('bulk-' || c.id)::bytea), 'hex'), 'active', now()
        FROM claims c WHERE c.number LIKE 'BULK-%'
          AND NOT EXISTS (SELECT 1 FROM portal_tokens t WHERE t.claim_id = c.id)""")
    db.execute("ANALYZE")
    return int(db.execute("SELECT count(*) FROM claims")[0][0])


def staff_cookie(secret_key: str, tmp: Path, db_url: str, user_id: int, shop_id: int) -> str:
    """A signed staff session cookie (what the login form sets), made with the app's own serializer."""
    from bayline.auth.models import User
    from bayline.db import get_db, get_session

    app = make_app(db_url, tmp, secret_key)
    with app.app_context():
        login_id = get_session().get(User, user_id).get_id()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    value = serializer.dumps({"_user_id": login_id, "_fresh": True, "shop_id": shop_id})

    get_db(app).dispose()
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def portal_cookie(server: Gunicorn, token: str) -> str:
    """Open the customer's link for real (``/c/<token>`` → 303 to ``/c/s/`` with the session cookie)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", f"/c/{token}")
        r = conn.getresponse()
        r.read()
        if r.status != 303:
            raise RuntimeError(f"portal link answered {r.status}")
        cookie = r.getheader("Set-Cookie", "").split(";", 1)[0]
        # The first page view adds the form (CSRF) secret to the session, as a browser would keep it.
        conn.request("GET", "/c/s/", headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"portal page answered {r.status}")
        return r.getheader("Set-Cookie", cookie).split(";", 1)[0]
    finally:
        conn.close()
