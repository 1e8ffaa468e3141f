"""Shop archives (issue 19 item 4): ``flask bayline export-shop`` writes one zip of a shop's rows and
files, ``flask bayline import-shop`` restores it into a fresh database (another deployment: its own
database, storage and secret key), and everything compares equal modulo ids.

The shop is built through the product's own paths: claims and stage moves through the API, photos
processed into their renditions, a customer attachment, an SMS sent through the outbox to the Telnyx
stand-in (its thread message, the intake consent, a marketing consent), an inbound MMS row pointing at
a photo, a portal link, an e-signed document (PAdES PDF in storage) and a customer's quote decision.
Every carried table is compared row by row: columns equal, every foreign key naming the same row
(its content), storage keys naming the same bytes, ids inside JSON naming the same rows. Refusals
(slug taken, newer schema, corrupt archive, not a zip) leave the target database and storage as they
were.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bayline_sms.testing.telnyx_standin import API_KEY, TelnyxStandIn
from PIL import Image, ImageDraw
from sqlalchemy import func, inspect, select

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

ROOT = Path(__file__).resolve().parents[2]
QUOTES_FIXTURES = ROOT / "plugins" / "quotes" / "tests" / "fixtures"
CUSTOMER = "+16175550100"
# columns an import changes on purpose (secrets do not travel; live credentials come back revoked)
CHANGED = {"portal_tokens": {"token_hash", "sealed", "short_hash", "state", "ended_at"},
           "api_keys": {"key_hash", "revoked_at"}, "staff_invitations": {"token_hash", "revoked_at"}}


@pytest.fixture
def telnyx_api():
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(telnyx_api):
    return {"BAYLINE_PLUGIN_SMS_TELNYX_API_KEY": API_KEY, "BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL": telnyx_api.base_url,
            "BAYLINE_PLUGIN_SMS_TELNYX_MAX_RETRIES": 0}


@pytest.fixture
def storage(app, tmp_path):
    from bayline.storage import LocalStorage

    backend = LocalStorage(tmp_path / "source-files")
    app.extensions["bayline.storage"] = backend
    return backend


@pytest.fixture
def target(request, db_backend, tmp_path, telnyx_api, extra_plugins):
    """Another deployment: a fresh database at head, its own storage and secret key (same plugins)."""
    from bayline import create_app
    from bayline.db import get_db
    from bayline.storage import LocalStorage

    dbs = request.getfixturevalue(f"_{db_backend}_template")
    url = dbs.clone()
    other = create_app({"database_url": url, "env": "test", "instance_dir": tmp_path / "target-instance",
                        "public_url": "http://restored.example", "secret_key": "another-deployment-" + "x" * 40},
                       plugins=extra_plugins)
    other.extensions["bayline.storage"] = LocalStorage(tmp_path / "target-files")
    yield other
    get_db(other).dispose()
    dbs.drop(url)


def jpeg(color=(20, 120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "JPEG")
    return out.getvalue()


def drawn_signature() -> str:
    img = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(10, 80), (80, 20), (150, 70), (290, 30)], fill=(0, 0, 0, 255), width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def bms(name: str) -> dict[str, Any]:
    data = (QUOTES_FIXTURES / name).read_bytes()
    return {"format": "bms", "content": base64.b64encode(data).decode(), "encoding": "base64"}


def phone(portal_client, claim):
    client = portal_client(claim)
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) TestPhone"
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    return client


@pytest.fixture
def busy_shop(app, storage, make_shop, make_user, make_claim, api_client, portal_client, telnyx_api):
    """A shop with something in every corner of the core and of the three bundled plugins."""
    from bayline_sms.models import SmsInbound, SmsNumberRelease

    from bayline.events import commit
    from bayline.photos import service as photos

    shop = make_shop(plan="starter", name="Harbor Collision")
    owner = make_user(shop, "owner", email="owner@harbor.example")
    advisor = make_user(shop, "advisor", email="advisor@harbor.example")
    api = api_client(shop)
    r = api.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "", "messaging.quiet_hours_end": "",
                                                 "quotes.tax_parts": "10"})
    assert r.status_code == 200, r.get_json()
    assert api.put("/plugins/sms/number", json={"phone_number": "+16175550199"}).status_code == 200

    claim = make_claim(shop, number="RO-4471", vin="1HGCM82633A004352", insurer="Acme Mutual",
                       insurer_claim_number="AM-99-1203", vehicle_year=2021, vehicle_make="Subaru",
                       vehicle_model="Outback", estimator_id=advisor.id)
    other = make_claim(shop, number="RO-4472", customer_first_name="Sam", customer_mobile="+16175550101")
    stages = api.get("/api/v1/stages").get_json()
    for stage in stages[1:3]:  # two moves: stage history with from/to stages
        r = api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stage["id"]})
        assert r.status_code == 200, r.get_json()

    r = api.post(f"/api/v1/claims/{claim.id}/photos", content_type="multipart/form-data",
                 data={"files": [(io.BytesIO(jpeg()), "front.jpg"), (io.BytesIO(jpeg((200, 30, 30))), "rear.jpg")]})
    assert r.status_code == 201, r.get_json()
    photo_ids = [p["id"] for p in r.get_json()]
    assert all(api.get(f"/api/v1/claims/{claim.id}/photos/{i}").get_json()["status"] == "ready" for i in photo_ids)
    with in_tenant(app, shop.id) as session:
        from bayline.claims.models import Claim

        attachment = photos.add_attachments(session.get(Claim, other.id), [photos.Incoming("estimate.jpg", jpeg())],
                                            source="staff", user_id=owner.id)[0][0]
        commit(session)

    r = api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Your Outback is in paint.",
                                                                   "photo_ids": [photo_ids[0]]})
    assert r.status_code == 202, r.get_json()
    assert telnyx_api.sent_to(CUSTOMER)
    with in_tenant(app, shop.id) as session:  # a reminder due tomorrow: held in the outbox
        from datetime import timedelta

        from bayline.claims.models import Claim
        from bayline.db import utcnow
        from bayline.messaging import service as outbox

        held, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER, body="Pick-up reminder",
                                 idempotency_key="reminder-1", claim=session.get(Claim, claim.id), kind="automatic",
                                 due_at=utcnow() + timedelta(days=1))
        assert held.state == "held"
    r = api.put("/api/v1/consent", json={"contact": CUSTOMER, "channel": "sms", "purpose": "marketing",
                                         "status": "granted", "source": "web_form", "wording_version": "m1",
                                         "wording": "Yes, text me offers. Reply STOP to cancel."})
    assert r.status_code == 200, r.get_json()
    with in_tenant(app, shop.id) as session:
        session.add(SmsInbound(telnyx_id="in-1", from_number=CUSTOMER, to_number="+16175550199", body="Pic",
                               claim_id=claim.id, media=[{"url": "https://media.example/1"}],
                               media_files=[{"url": "https://media.example/1", "status": "stored",
                                             "photo_id": photo_ids[1]},
                                            {"url": "https://media.example/2", "status": "stored",
                                             "attachment_id": attachment.id}]))
        session.add(SmsNumberRelease(phone_number="+16175550188", released_by=f"user {owner.id}",
                                     quarantined_until=datetime(2027, 3, 1, tzinfo=UTC)))
        commit(session)
    link = api.post(f"/api/v1/claims/{claim.id}/portal-link", json={}).get_json()["url"]

    # e-sign: a package signed by the customer from the portal (PAdES PDF into storage)
    r = api.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["repair_authorization"]},
                 headers={"Accept": "application/json"})
    assert r.status_code == 201, r.get_json()
    pkg = r.get_json()
    doc = pkg["documents"][0]["id"]
    customer = phone(portal_client, claim)
    customer.get(f"/c/s/esign/documents/{doc}", headers={"Accept": "application/json"})
    token = csrf_token(customer.get("/plugins/esign/verify", headers={"Accept": "text/html"}))
    r = customer.post(f"/c/s/esign/packages/{pkg['id']}/consent", data={"csrf_token": token, "agree": "1"},
                      headers={"Accept": "application/json"})
    assert r.status_code == 200, r.get_json()
    r = customer.post(f"/c/s/esign/documents/{doc}/sign", headers={"Accept": "application/json"},
                      data={"csrf_token": token, "method": "drawn", "signature": drawn_signature(), "intent": "1",
                            "time_zone": "America/New_York", "initials": "DR"})
    assert r.status_code == 200, r.get_json()

    # quotes: an estimate and two supplements, the customer approves one line of the last
    for name in ("bms_original.xml", "bms_supplement1.xml", "bms_supplement2.xml"):
        r = api.post("/api/v1/plugins/quotes/imports", json=bms(name))
        assert r.status_code == 201, r.get_json()
    version = r.get_json()["version"]
    wheel = next(ln["id"] for ln in version["lines"] if ln["description"].startswith("Wheel lock"))
    page = customer.get(f"/c/s/quotes/versions/{version['id']}")
    r = customer.post(f"/c/s/quotes/versions/{version['id']}/decide",
                      data={"csrf_token": csrf_token(page), "action": "approve_selected", "lines": [str(wheel)],
                            "reason": "price"})
    assert r.status_code == 303, r.get_data(as_text=True)
    return type("Busy", (), {"shop": shop, "claim": claim, "link": link, "api": api})


# -- comparing two deployments ----------------------------------------------------------------------------


def _rules(app):
    from bayline.ops.archive import carried_tables, collect_rules

    rules = collect_rules(app)
    return rules, carried_tables(app, rules)


def _dump(app, shop_id: int) -> dict[str, dict[int, dict[str, Any]]]:
    """Every carried row of the shop, by table and id (plus the users and groups it names)."""
    from bayline.db import Base, get_db

    _, tables = _rules(app)
    out: dict[str, dict[int, dict[str, Any]]] = {}
    with get_db(app).engine.connect() as conn:
        for table in tables:
            if table.name == "shops":
                stmt = select(table).where(table.c.id == shop_id)
            elif "tenant_id" in table.c:
                stmt = select(table).where(table.c.tenant_id == shop_id)
            else:
                raise AssertionError(f"{table.name}: a child table without tenant_id; extend the comparison")
            out[table.name] = {r["id"]: dict(r) for r in conn.execute(stmt).mappings()}
        for name in ("users", "groups"):
            out[name] = {r["id"]: dict(r) for r in conn.execute(select(Base.metadata.tables[name])).mappings()}
    return out


def _files(storage, key: str) -> list[tuple[str, str]]:
    """(name under the key, SHA-256) of every object a storage-key column names."""
    found = [("", hashlib.sha256(storage.get(key)).hexdigest())] if storage.exists(key) else []
    found += [(k[len(key):], hashlib.sha256(storage.get(k)).hexdigest()) for k in storage.keys(key + "/")]
    return sorted(found)


def _canonical(app, storage, dump) -> dict[str, list[str]]:
    """Each table's rows with ids replaced by what they name: comparable across deployments."""
    from bayline.db import Base

    rules, tables = _rules(app)

    def plain(table: str, row_id: Any) -> Any:
        """What a reference names: a row's own columns (no ids), users by email, groups by slug."""
        if row_id is None or table not in dump:  # a natural key outside the shop (plans.key): as is
            return row_id
        row = dump[table].get(row_id)
        if row is None:
            return ("missing", table)
        if table == "users":
            return row["email"]
        if table == "groups":
            return row["slug"]
        meta = Base.metadata.tables[table]
        skip = {c.name for c in meta.columns if c.primary_key or c.foreign_keys} | CHANGED.get(table, set())
        skip |= {c for t, c in rules.storage_keys | set(rules.id_columns) | set(rules.json_columns) if t == table}
        return sorted((k, repr(v)) for k, v in row.items() if k not in skip)

    def json_value(table: str, column: str, value: Any) -> Any:
        if (table, column) == ("outbox_items", "options"):
            return {**value, "photo_ids": [plain("photos", i) for i in value.get("photo_ids", [])],
                    "portal_token_id": plain("portal_tokens", value.get("portal_token_id"))}
        if (table, column) == ("sms_inbound", "media_files"):
            return [{**m, "photo_id": plain("photos", m.get("photo_id")),
                     "attachment_id": plain("attachments", m.get("attachment_id")),
                     "key": _files(storage, m["key"]) if m.get("key") else None} for m in value]
        if (table, column) == ("quotes_decisions", "line_ids"):
            return [plain("quotes_lines", i) for i in value]
        raise AssertionError(f"no comparison for {table}.{column}; extend the test")

    from bayline.default_plugins.messaging import IMPORT_CANCELLED

    out: dict[str, list[str]] = {}
    for table in tables:
        rows = []
        for row in dump[table.name].values():
            if table.name == "outbox_items" and row["state"] in ("queued", "held"):  # what an import does
                row = {**row, "state": "cancelled", "reason": IMPORT_CANCELLED, "due_at": None}
            canon: dict[str, Any] = {}
            for column in table.columns:
                name, value = column.name, row[column.name]
                if column.primary_key or name in CHANGED.get(table.name, set()):
                    continue
                fk = next(iter(column.foreign_keys), None)
                if fk is not None:
                    canon[name] = plain(fk.column.table.name, value)
                elif (table.name, name) in rules.id_columns:
                    canon[name] = plain(rules.id_columns[(table.name, name)], value)
                elif (table.name, name) in rules.storage_keys:
                    canon[name] = _files(storage, value) if value else None
                elif (table.name, name) in rules.json_columns:
                    canon[name] = json_value(table.name, name, value)
                else:
                    canon[name] = value
            rows.append(json.dumps(canon, sort_keys=True, default=repr))
        out[table.name] = sorted(rows)
    return out


def _diff(name: str, source: list[str], copied: list[str]) -> str:
    import difflib

    lines = difflib.unified_diff([c for row in source for c in row.split(", ")],
                                 [c for row in copied for c in row.split(", ")], lineterm="", n=0)
    return f"{name} differs:\n" + "\n".join(list(lines)[:40])


def _counts(app) -> dict[str, int]:
    from bayline.db import Base, get_db
    from bayline.ops.archive import _owned_tables

    engine = get_db(app).engine
    present = set(inspect(engine).get_table_names())  # a test may have downgraded a plugin
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar_one()
                for name in sorted(_owned_tables(app)) if name in present}


def _export(app, shop, path: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["bayline", "export-shop", "--shop", shop.slug, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


# -- the round trip -----------------------------------------------------------------------------------------


def test_shop_round_trips_into_a_fresh_database(app, storage, busy_shop, target, tmp_path):
    from bayline.db import get_session
    from bayline.portal.models import PortalToken
    from bayline.tenants.models import Shop

    archive = _export(app, busy_shop.shop, tmp_path / "harbor.zip")
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["format"] == "bayline-shop-archive" and manifest["format_version"] == 1
    from bayline.migrate import components

    # every installed component's head, whatever plugins this deployment has
    assert set(manifest["heads"]) == set(components(app)) >= {"core", "sms", "esign", "quotes"}
    assert all(manifest["heads"].values())
    with zipfile.ZipFile(archive) as zf:
        text = b"".join(zf.read(n) for n in zf.namelist() if not n.startswith("files/"))
    assert b"pbkdf2" not in text and b"scrypt" not in text  # no password hash leaves
    before = _counts(target)

    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive)])
    assert result.exit_code == 0, result.output
    assert "staff created without a password" in result.output and "owner@harbor.example" in result.output
    with target.app_context():
        restored = get_session().scalar(select(Shop).where(Shop.slug == busy_shop.shop.slug))
    source_dump, target_dump = _dump(app, busy_shop.shop.id), _dump(target, restored.id)

    # row counts per table, then every row modulo ids (references, files, ids inside JSON included)
    tables = [t.name for t in _rules(app)[1]]
    assert {t: len(source_dump[t]) for t in tables} == {t: len(target_dump[t]) for t in tables}
    for name in ("claims", "stage_history", "photos", "attachments", "messages", "outbox_items", "consent_records",
                 "consent_events", "portal_tokens", "esign_documents", "esign_signatures", "esign_consents",
                 "sms_numbers", "sms_inbound", "sms_number_releases", "quotes_versions", "quotes_lines",
                 "quotes_decisions"):
        assert source_dump[name], f"the busy shop has no {name} rows: the test proves nothing for them"
    source, copied = _canonical(app, app.extensions["bayline.storage"], source_dump), \
        _canonical(target, target.extensions["bayline.storage"], target_dump)
    for name in tables:
        assert copied[name] == source[name], _diff(name, source[name], copied[name])
    after = _counts(target)
    assert {t: after[t] - before[t] for t in tables if after[t] != before[t]} == \
        {t: len(source_dump[t]) for t in tables if source_dump[t]}

    # every stored file came along, byte for byte, under keys of the new shop
    src_store, dst_store = app.extensions["bayline.storage"], target.extensions["bayline.storage"]
    assert sorted(hashlib.sha256(src_store.get(k)).digest() for k in src_store.keys()) == \
        sorted(hashlib.sha256(dst_store.get(k)).digest() for k in dst_store.keys())
    assert all(k.startswith(f"t{restored.id}/") for k in dst_store.keys())
    signed = next(iter(target_dump["esign_documents"].values()))
    assert dst_store.get(signed["signed_pdf_key"]).startswith(b"%PDF")

    # secrets: the customer link does not work in the new deployment; staff have no password
    with in_tenant(target, restored.id) as session:
        assert {t.state for t in session.scalars(select(PortalToken))} <= {"revoked", "rotated"}
    portal = target.test_client().get("/c/" + busy_shop.link.rsplit("/c/", 1)[1], follow_redirects=False)
    assert portal.status_code != 303
    assert all(u["password_hash"] is None for u in target_dump["users"].values())
    assert all(k["revoked_at"] is not None for k in target_dump["api_keys"].values())
    # texts waiting to go are not sent by the new deployment (the held reminder comes back cancelled)
    assert sorted(o["state"] for o in source_dump["outbox_items"].values()) == ["held", "sending"]
    assert sorted(o["state"] for o in target_dump["outbox_items"].values()) == ["cancelled", "sending"]
    # the restored shop is usable: its claims answer through the API of the new deployment
    from bayline.auth.api_keys import create_api_key
    from bayline.events import commit

    with in_tenant(target, restored.id) as session:
        _, secret = create_api_key(restored.id, "after-restore", ["admin"], operator=True)
        commit(session)
    claims = target.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"})
    assert claims.status_code == 200, claims.get_json()
    assert {c["number"] for c in claims.get_json()} == {"RO-4471", "RO-4472"}


def test_import_into_an_existing_group_under_a_new_slug_matches_staff_by_email(app, storage, busy_shop, target,
                                                                              tmp_path):
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Membership, Shop

    archive = _export(app, busy_shop.shop, tmp_path / "harbor.zip")
    with in_tenant(target) as session:
        group = provisioning.create_group("Bay Group", "bay-group")
        provisioning.create_user("owner@harbor.example", "Existing Owner", "correct-horse-42")
        commit(session)
    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive), "--slug", "harbor-2",
                                                   "--group", "bay-group"])
    assert result.exit_code == 0, result.output
    assert "staff matched by email: owner@harbor.example" in result.output
    with in_tenant(target) as session:
        shop = session.scalar(select(Shop).where(Shop.slug == "harbor-2"))
        assert shop.group_id == group.id
        emails = {m.user.email for m in session.scalars(select(Membership).where(Membership.tenant_id == shop.id))}
        assert emails == {"owner@harbor.example", "advisor@harbor.example"}
        from bayline.auth.models import User

        owner = session.scalar(select(User).where(User.email == "owner@harbor.example"))
        assert owner.name == "Existing Owner" and owner.password_hash  # the existing login is kept as it was


# -- refusals leave nothing behind ----------------------------------------------------------------------------


def _refused(target, archive: Path, *args: str) -> str:
    store = target.extensions["bayline.storage"]
    before, files = _counts(target), sorted(store.keys())
    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive), *args])
    assert result.exit_code != 0, result.output
    assert _counts(target) == before and sorted(store.keys()) == files
    return result.output


def _rewrite(archive: Path, out: Path, change) -> Path:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


def test_refusals_leave_the_target_untouched(app, storage, busy_shop, target, tmp_path, make_shop):
    from bayline.events import commit
    from bayline.tenants import provisioning

    archive = _export(app, busy_shop.shop, tmp_path / "harbor.zip")
    again = app.test_cli_runner().invoke(args=["bayline", "export-shop", "--shop", busy_shop.shop.slug, "--out",
                                               str(archive)])
    assert again.exit_code != 0 and "never overwritten" in again.output
    missing = app.test_cli_runner().invoke(args=["bayline", "export-shop", "--shop", "nope", "--out",
                                                 str(tmp_path / "x.zip")])
    assert missing.exit_code != 0 and "no shop 'nope'" in missing.output

    # the slug is taken
    with in_tenant(target) as session:
        provisioning.create_shop(provisioning.create_group("Other", "other-group"), "Taken", slug=busy_shop.shop.slug)
        commit(session)
    assert "pass --slug NEW" in _refused(target, archive)
    # the group named does not exist
    assert "no group 'ghost'" in _refused(target, archive, "--slug", "fresh", "--group", "ghost")

    # written by a newer schema (a revision this release does not know)
    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["heads"]["core"] = ["ffffffffffff"]
        return json.dumps(manifest).encode()

    out = _refused(target, _rewrite(archive, tmp_path / "newer.zip", newer), "--slug", "fresh")
    assert "newer than this release knows" in out and "upgrade Bayline" in out

    # a plan this deployment lacks
    def platinum(name: str, data: bytes) -> bytes:
        if name != "rows/shops.json":
            return data
        return json.dumps([{**json.loads(data)[0], "plan_key": "platinum"}]).encode()

    assert "no plan 'platinum'" in _refused(target, _rewrite(archive, tmp_path / "plan.zip", platinum), "--slug",
                                            "fresh")

    # rows of a plugin this deployment does not have
    def ghost(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["heads"]["ghost"] = ["0123abcd"]
            manifest["tables"]["ghost_items"] = {"component": "ghost", "rows": 1, "columns": ["id", "tenant_id"]}
            return json.dumps(manifest).encode()
        return data

    out = _refused(target, _rewrite(archive, tmp_path / "ghost.zip", ghost), "--slug", "fresh")
    assert "plugin 'ghost', which is not installed here" in out

    # a file's bytes do not match the manifest
    def tampered(name: str, data: bytes) -> bytes:
        return data + b"x" if name.startswith("files/") and name.endswith("/original") else data

    assert "does not match its SHA-256" in _refused(target, _rewrite(archive, tmp_path / "bad.zip", tampered),
                                                    "--slug", "fresh")

    # a member missing, rows that do not add up, not a zip, not an archive
    def drop_rows(name: str, data: bytes) -> bytes | None:
        return None if name == "rows/claims.json" else data

    assert "rows/claims.json is missing" in _refused(target, _rewrite(archive, tmp_path / "short.zip", drop_rows),
                                                     "--slug", "fresh")

    def fewer(name: str, data: bytes) -> bytes:
        return json.dumps(json.loads(data)[:1]).encode() if name == "rows/stage_history.json" else data

    assert "does not hold the" in _refused(target, _rewrite(archive, tmp_path / "fewer.zip", fewer), "--slug",
                                           "fresh")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "not a shop archive" in _refused(target, junk, "--slug", "fresh")
    plain = _rewrite(archive, tmp_path / "plain.zip", lambda n, d: None if n == "manifest.json" else d)
    assert "no manifest.json" in _refused(target, plain, "--slug", "fresh")

    # a clash found only by the database (the shop's texting number is another shop's here) rolls back
    # every row and deletes the files already written
    from bayline_sms.models import SmsNumber

    with in_tenant(target) as session:
        other = provisioning.create_shop(provisioning.create_group("Third", "third-group"), "Third", slug="third")
        commit(session)
    with in_tenant(target, other.id) as session:
        session.add(SmsNumber(phone_number="+16175550199"))
        commit(session)
    out = _refused(target, archive, "--slug", "fresh")
    assert "clashes with rows already in this database" in out and "nothing was imported" in out

    # and with the clash gone, the same archive imports
    with in_tenant(target, other.id) as session:
        session.delete(session.scalar(select(SmsNumber)))
        commit(session)
    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive), "--slug", "fresh"])
    assert result.exit_code == 0, result.output


# -- a plugin's own tables: found from the metadata, special columns from its rules ----------------------------

PROBE_TABLES: list[Any] = []


def _probe_module():
    """Plugin ``archprobe``: a tenant table with a storage key and an id without a foreign key, and a
    child table without ``tenant_id`` reached through its foreign key only."""
    import sys
    import types

    from sqlalchemy import Column, ForeignKey, Integer, String, Table

    from bayline.db import Base
    from bayline.plugins.markers import hookimpl
    from bayline.plugins.types import Feature, ShopArchiveRules

    if "archprobe_notes" not in Base.metadata.tables:
        PROBE_TABLES.append(Table("archprobe_notes", Base.metadata, Column("id", Integer, primary_key=True),
                                  Column("tenant_id", ForeignKey("shops.id"), nullable=False),
                                  Column("claim_id", ForeignKey("claims.id"), nullable=False),
                                  Column("doc_key", String(200)), Column("other_claim", Integer),
                                  Column("secret", String(64))))
        PROBE_TABLES.append(Table("archprobe_tags", Base.metadata, Column("id", Integer, primary_key=True),
                                  Column("note_id", ForeignKey("archprobe_notes.id"), nullable=False),
                                  Column("label", String(40))))
    module = types.ModuleType("bayline_archprobe")

    @hookimpl
    def register_features():
        return [Feature("archprobe", "Archive probe")]

    @hookimpl
    def shop_archive_rules():
        return ShopArchiveRules(storage_keys=("archprobe_notes.doc_key",),
                                id_columns={"archprobe_notes.other_claim": "claims"},
                                redact=("archprobe_notes.secret",))

    module.register_features, module.shop_archive_rules = register_features, shop_archive_rules
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins(request):
    if "plugin_table" not in request.node.name:
        yield []
        return
    yield [("archprobe", _probe_module())]
    from bayline.db import Base

    for table in PROBE_TABLES:  # leave the shared metadata as the other tests know it
        Base.metadata.remove(table)
    PROBE_TABLES.clear()


def test_a_plugin_table_travels_by_its_rules(app, storage, target, make_shop, make_claim, tmp_path):
    from bayline.db import Base, get_db
    from bayline.storage import new_key

    for deployment in (app, target):  # the plugin's migration, in short
        for name in ("archprobe_notes", "archprobe_tags"):
            Base.metadata.tables[name].create(get_db(deployment).engine)
    shop = make_shop()
    first, second = make_claim(shop, number="RO-1"), make_claim(shop, number="RO-2")
    key = f"{new_key(shop.id, 'archprobe')}/note.txt"
    storage.put(key, b"probe bytes", "text/plain")
    notes, tags = Base.metadata.tables["archprobe_notes"], Base.metadata.tables["archprobe_tags"]
    with get_db(app).engine.begin() as conn:
        note = conn.execute(notes.insert().values(tenant_id=shop.id, claim_id=first.id, doc_key=key,
                                                  other_claim=second.id, secret="s3cret")).inserted_primary_key[0]
        conn.execute(tags.insert().values(note_id=note, label="urgent"))
    archive = _export(app, shop, tmp_path / "probe.zip")
    with zipfile.ZipFile(archive) as zf:
        assert b"s3cret" not in zf.read("rows/archprobe_notes.json")
        assert json.loads(zf.read("manifest.json"))["tables"]["archprobe_tags"] == {
            "component": "archprobe", "rows": 1, "columns": ["id", "note_id", "label"]}
    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive)])
    assert result.exit_code == 0, result.output
    claims = Base.metadata.tables["claims"]
    with get_db(target).engine.connect() as conn:
        row = conn.execute(notes.select()).mappings().one()
        numbers = dict(conn.execute(select(claims.c.id, claims.c.number)).all())
        assert conn.execute(select(tags.c.note_id, tags.c.label)).one() == (row["id"], "urgent")
    assert (numbers[row["claim_id"]], numbers[row["other_claim"]]) == ("RO-1", "RO-2")
    assert row["secret"] is None and row["doc_key"] != key and row["doc_key"].endswith("/note.txt")
    assert row["doc_key"].startswith(f"t{row['tenant_id']}/archprobe/")
    assert target.extensions["bayline.storage"].get(row["doc_key"]) == b"probe bytes"


def test_a_reference_out_of_the_shop_is_refused_at_export(app, storage, make_shop, tmp_path, monkeypatch):
    """A carried table pointing at a platform table the archive cannot resolve: a clear refusal."""
    from bayline.ops import archive

    real = archive.carried_tables

    def with_platform_link(app_, rules):
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

        meta = MetaData()
        Table("platform_things", meta, Column("id", Integer, primary_key=True))
        linked = Table("linked_rows", meta, Column("id", Integer, primary_key=True),
                       Column("thing_id", ForeignKey("platform_things.id")))
        return [*real(app_, rules), linked]

    monkeypatch.setattr(archive, "carried_tables", with_platform_link)
    shop = make_shop()
    result = app.test_cli_runner().invoke(args=["bayline", "export-shop", "--shop", shop.slug, "--out",
                                                str(tmp_path / "x.zip")])
    assert result.exit_code != 0
    assert "linked_rows.thing_id refers to platform_things" in result.output and "shop_archive_rules" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_an_archive_newer_than_the_database_is_refused(app, storage, make_shop, make_claim, target, tmp_path):
    """The release knows the archive's revision but this database is behind it: upgrade first."""
    from bayline import migrate

    shop = make_shop()
    make_claim(shop)
    archive = _export(app, shop, tmp_path / "shop.zip")
    migrate.downgrade(target, "quotes", "-1")
    out = _refused(target, archive)
    assert "newer than this database" in out and "flask db upgrade" in out
    migrate.upgrade_all(target)
    result = target.test_cli_runner().invoke(args=["bayline", "import-shop", str(archive)])
    assert result.exit_code == 0, result.output


def test_conformance_checks_a_plugins_archive_rules(app):
    from bayline.plugins.types import ShopArchiveRules
    from bayline.testing.conformance import check_archive_rules, check_plugin

    for plugin in ("sms", "esign", "quotes"):  # the bundled rules name real columns
        assert [p for p in check_plugin(app, plugin) if "shop_archive_rules" in p] == []
    bad = ShopArchiveRules(storage_keys=("sms_inbound.nope",), id_columns={"sms_inbound.claim_id": "ghosts"},
                           skip_tables=("claims",), redact=("sms_missing.secret",))
    assert check_archive_rules("sms", [bad, "junk"]) == [
        "sms: shop_archive_rules names 'claims', not one of its 'sms_' tables",
        "sms: shop_archive_rules names 'sms_inbound.nope': no such column",
        "sms: shop_archive_rules names table 'sms_missing', which does not exist",
        "sms: shop_archive_rules maps 'sms_inbound.claim_id' to unknown table 'ghosts'",
        "sms: shop_archive_rules returned 'junk', not ShopArchiveRules"]
