"""Route-wide tenant isolation sweep (issue 9 item 1, issue 3 acceptance).

Every URL rule that takes an object id is requested, with every method it
accepts, as shop A's API key, as shop A's logged-in owner and anonymously,
against real objects of shop B. Anything but 404 (401 anonymously), or any of
B's data in the answer, is reported with the route named. Each probe has a
control: the same request on A's own equivalent object must succeed, so a 404
cannot come from a bad body or a wrong URL. New routes are swept automatically;
a route whose id parameter has no fixture object is reported too.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import select

from bayline.claims.models import Claim, Stage
from bayline.events import commit
from bayline.tenancy import set_tenant
from bayline.tenants.models import Membership
from bayline.testing.forms import csrf_token

# Parameters that are not tenant object ids; each is covered by its own tests.
NOT_OBJECT_IDS = {
    "filename",  # static files
    # /reset/<token>: signed and single-use, see tests/web/test_auth.py; /u/<token>: a signed
    # unsubscribe token naming its shop, see tests/messaging/test_unsubscribe.py
    "token",
    # /plugins/quotes/webhooks/<provider_name>: a payment provider's name (hook payment_provider), not a
    # shop's object; the signed payload names the session, see test_quotes_payments.py
    "provider_name",
    "key",  # /console/settings/features/<key>: a catalogue feature key of the caller's own shop
    # /api/v1/platform/shops/<shop_slug>/..., /console/platform/shops/<slug>: cross-shop by design, for
    # platform admins only; tests/api/test_platform_features.py sweeps every /platform route as shop
    # owners, admin keys, group admins and anonymous callers (all refused, their own shop included)
    "shop_slug",
    "slug",  # also /plugins/scheduling/public/estimate/<slug>: a shop's public landing page, public by design
    # /c/s/scheduling/book/<type_key>, /api/v1/plugins/scheduling/types/<type_key>: an appointment type key of
    # the caller's own shop (a catalogue key, not a row of another shop)
    "type_key",
    # /plugins/loyalty/r/<referral_code>: a public page a customer shares on purpose (the shop and the
    # code, never who referred), see plugins/loyalty/tests/test_loyalty_referrals.py
    "referral_code",
    # /api/v1/plugins/branding/images/<field>, /plugins/branding/shops/<slug>/<field>.png: which brand image
    # (logo or favicon), of the caller's own shop or of a shop's public brand; see plugins/branding/tests
    "field",
}
# Parameters of plugin routes whose objects this sweep cannot create yet. Each is a known gap,
# reported here rather than skipped silently; remove the entry when the sweep builds the object.
UNSWEPT = {
    "public_id": "esign packages/documents (plugins/esign, in progress): needs an esign package per shop",
}
# API routes only a logged-in staff member may use (an API key gets 403 staff_only, by design):
# their control runs as the staff owner.
STAFF_ONLY = {"/api/v1/outbox/<int:draft_id>/queue"}
# Request bodies that pass validation, so the object lookup is what answers.
BODIES: dict[tuple[str, str], Any] = {
    ("/api/v1/claims/<int:claim_id>", "PATCH"): {"vehicle_color": "Teal"},
    ("/api/v1/claims/<int:claim_id>/eta", "POST"): {"eta": "2031-05-06", "reason": "sweep"},
    ("/api/v1/claims/<int:claim_id>/stage", "POST"): {"stage_id": "{own_stage}"},
    ("/api/v1/stages/<int:stage_id>", "PATCH"): {"name": "Renamed"},
    ("/api/v1/staff/<int:membership_id>", "PATCH"): {"role": "estimator"},
    ("/console/claims/<int:claim_id>/eta", "POST"): {"eta": "2031-05-06"},
    ("/console/claims/<int:claim_id>/stage", "POST"): {"stage_id": "{own_stage}"},
    ("/plugins/sms/inbox/<int:inbound_id>/attach", "POST"): {"claim_number": "{own_claim_number}"},
    # the control must not depend on the hour the suite runs at (quiet hours refuse unconfirmed sends)
    ("/api/v1/outbox/<int:draft_id>/queue", "POST"): {"confirm_quiet_hours": True},
}
QUOTE = {"estimate_id": "sweep", "version": 0, "lines": [
    {"description": "Zq sweep bumper", "part_number": "P1", "unit_price": "100.00"},
    {"description": "Zq sweep customer line", "unit_price": "20.00", "payer": "customer"}]}
BODIES[("/api/v1/plugins/quotes/claims/<int:claim_id>/imports", "POST")] = {"format": "json", "content": QUOTE}
# loyalty: shop A's own member's code (the sweep's member of each shop is SWEEP<label>XX)
BODIES[("/api/v1/plugins/loyalty/claims/<int:claim_id>/referral", "POST")] = {"code": "SWEEPAXX"}
BODIES[("/api/v1/plugins/loyalty/claims/<int:claim_id>/payments", "POST")] = {"amount": "10.00"}
# Multipart bodies (file uploads): a factory per route, since a file object is read once.
MULTIPART: dict[tuple[str, str], Any] = {
    ("/api/v1/claims/<int:claim_id>/photos", "POST"): lambda: {"files": (io.BytesIO(sweep_jpeg()), "s.jpg")},
    ("/api/v1/claims/<int:claim_id>/attachments", "POST"): lambda: {"files": (io.BytesIO(sweep_pdf()), "s.pdf")},
    ("/console/claims/<int:claim_id>/photos", "POST"): lambda: {"files": (io.BytesIO(sweep_jpeg()), "s.jpg")},
}


def sweep_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def sweep_pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


def add_files(claim: Claim) -> tuple[int, int]:
    """A ready, customer-visible photo and a customer upload on ``claim`` (session tenant set)."""
    from bayline.photos import service as photos

    [photo], _ = photos.add_photos(claim, [photos.Incoming("sweep.jpg", sweep_jpeg())], tag="before")
    [upload], _ = photos.add_attachments(claim, [photos.Incoming("sweep.pdf", sweep_pdf())], source="customer")
    commit()
    photos.enqueue([photo])
    return photo.id, upload.id


@dataclass
class Tenant:
    """Objects of one shop; ``ids`` maps URL parameter names to a sweepable object."""

    shop: Any
    owner: Any
    markers: list[str]
    ids: dict[str, int] = field(default_factory=dict)
    own_stage: int = 0
    claim: Any = None


def plugin_objects(app: Flask, session: Any, shop_id: int, label: str) -> dict[str, int]:
    """Objects of bundled plugins whose routes take an id, when the plugin is installed."""
    ids: dict[str, int] = {}
    if "sms" in app.extensions["bayline.plugins"].plugins:
        from bayline_sms.models import SmsInbound

        inbound = SmsInbound(tenant_id=shop_id, telnyx_id=f"sweep-{label}", from_number="+16175550111",
                             to_number="+16175550112", body=f"Zq{label}inboundtext")
        session.add(inbound)
        session.flush()
        ids["inbound_id"] = inbound.id
        from bayline_sms.models import SmsWebhookEvent

        # a failed delivery event (unknown message id): replaying it fails again, visibly, changes nothing
        event = SmsWebhookEvent(tenant_id=shop_id, event_id=f"sweep-{label}", event_type="message.finalized",
                                payload={"data": {"payload": {"id": f"sweep-{label}", "to": [{}]}}},
                                attempts=1, last_error="sweep", failed_at=inbound.received_at)
        session.add(event)
        session.flush()
        ids["event_id"] = event.id
    if "quotes" in app.extensions["bayline.plugins"].plugins:
        from bayline_quotes import imports as quote_imports
        from bayline_quotes import service as quotes

        claim = session.scalars(select(Claim).where(Claim.number == f"ZQ-{label}-0001")).one()
        result = quotes.import_estimate(quote_imports.parse_json(QUOTE), claim, None)
        session.flush()
        customer_line = next(ln for ln in result.version.lines if ln.payer == "customer")
        customer_line.decision = "approved"  # something decided, so the reverse control has work to do
        result.version.approval = "approved"
        ids["version_id"] = result.version.id
    if "csi" in app.extensions["bayline.plugins"].plugins:
        from datetime import timedelta

        from bayline_csi.models import CsiFollowUp, CsiResponse, CsiSurvey

        from bayline.db import utcnow

        claim = session.scalars(select(Claim).where(Claim.number == f"ZQ-{label}-0001")).one()
        now = utcnow()
        survey = CsiSurvey(tenant_id=shop_id, claim_id=claim.id, due_at=now - timedelta(hours=1),
                           closes_at=now + timedelta(days=10))
        session.add(survey)
        session.flush()
        response = CsiResponse(tenant_id=shop_id, survey_id=survey.id, claim_id=claim.id, overall=1,
                               comment=f"Zq{label}csicomment", editable_until=now + timedelta(days=1))
        session.add(response)
        session.flush()
        task = CsiFollowUp(tenant_id=shop_id, claim_id=claim.id, response_id=response.id,
                           due_at=now + timedelta(days=1), status="open")
        session.add(task)
        session.flush()
        ids["survey_id"], ids["task_id"] = survey.id, task.id
    if "ai_drafts" in app.extensions["bayline.plugins"].plugins:
        from bayline_ai_drafts.models import AiDraft

        from bayline.tenants import provisioning
        from bayline.tenants.models import Shop

        provisioning.set_addon(session.get(Shop, shop_id), "ai_drafts", True)
        claim = session.scalars(select(Claim).where(Claim.number == f"ZQ-{label}-0001")).one()
        draft = AiDraft(tenant_id=shop_id, claim_id=claim.id, feature="sms_reply", mode="customer", channel="portal",
                        provider="template", language="en", state="drafted", draft_text=f"Zq{label}aidraft",
                        unsupported=[], fields_sent=[])
        session.add(draft)
        session.flush()
        ids["ai_draft_id"] = draft.id
    if "email" in app.extensions["bayline.plugins"].plugins:
        from bayline_email.models import EmailConnection, EmailMessage

        claim = session.scalars(select(Claim).where(Claim.number == f"ZQ-{label}-0001")).one()
        # a mailbox nobody answers (port 1): syncing it fails at once and visibly, changing nothing else
        conn = EmailConnection(tenant_id=shop_id, address=f"sweep-{label}@harbor.test", imap_host="127.0.0.1",
                               imap_port=1, imap_ssl=False, last_uid=0)
        session.add(conn)
        session.flush()
        message = EmailMessage(tenant_id=shop_id, connection_id=conn.id, message_id=f"<sweep-{label}@x.test>",
                               thread_root=f"<sweep-{label}@x.test>", direction="in", audience="adjuster",
                               claim_id=claim.id, from_addr="desk@insurer.test", to_addrs=[],
                               subject=f"Zq{label}emailsubject", body_text=f"Zq{label}emailbody",
                               body_html=f"<p>Zq{label}emailhtml</p>", notes=[], attachment_ids=[])
        session.add(message)
        session.flush()
        ids["connection_id"], ids["email_message_id"] = conn.id, message.id
    if "scheduling" in app.extensions["bayline.plugins"].plugins:
        from datetime import UTC, datetime, timedelta

        from bayline_scheduling.models import SchedulingAppointment, SchedulingReservation

        claim = session.scalars(select(Claim).where(Claim.number == f"ZQ-{label}-0001")).one()
        start = datetime(2031, 5, 6, 14, 0, tzinfo=UTC)
        appt = SchedulingAppointment(tenant_id=shop_id, claim_id=claim.id, type_key="dropoff", kind="dropoff",
                                     resource="dropoff", unit=0, starts_at=start, ends_at=start + timedelta(minutes=15),
                                     block_start=start, block_end=start + timedelta(minutes=15), status="pending",
                                     source="staff", uid=f"sweep-{label}@test", sequence=0)
        session.add(appt)
        reservation = SchedulingReservation(tenant_id=shop_id, claim_id=claim.id, type_key="inspection",
                                            resource="inspection", unit=0, starts_at=start,
                                            ends_at=start + timedelta(minutes=30),
                                            expires_at=start + timedelta(days=1))
        session.add(reservation)
        session.flush()
        ids["appointment_id"], ids["reservation_id"] = appt.id, reservation.id
    if "accounts" in app.extensions["bayline.plugins"].plugins:
        from bayline_accounts.models import AccountsAccount, AccountsContact, AccountsPasskey

        from bayline.tenants import provisioning
        from bayline.tenants.models import Shop

        provisioning.set_addon(session.get(Shop, shop_id), "accounts", True)
        account = AccountsAccount(tenant_id=shop_id)
        session.add(account)
        session.flush()
        session.add(AccountsContact(tenant_id=shop_id, account_id=account.id, kind="mobile", value="+16175550100"))
        passkey = AccountsPasskey(tenant_id=shop_id, account_id=account.id, credential_id=f"sweep-{label}",
                                  public_key=b"sweep", sign_count=0, transports=[], name=f"Zq{label}passkey")
        session.add(passkey)
        session.flush()
        ids["account_id"], ids["passkey_id"] = account.id, passkey.id
    if "loyalty" in app.extensions["bayline.plugins"].plugins:
        from bayline_loyalty.models import LoyaltyMember

        from bayline.tenants import provisioning
        from bayline.tenants.models import Shop

        for feature in ("loyalty", "referrals"):
            provisioning.set_addon(session.get(Shop, shop_id), feature, True)
        member = LoyaltyMember(tenant_id=shop_id, contact=f"zq-{label.lower()}-member@example.com",
                               name=f"Zq{label}member", balance=10, referral_code=f"SWEEP{label}XX")
        session.add(member)
        session.flush()
        ids["member_id"] = member.id
        from bayline.messaging import consent
        from bayline.tenants.models import ShopSetting

        # the controls' offer is sent (marketing consent) and their payment entered by staff
        consent.set_consent(member.contact, "email", "marketing", "granted", "sweep", wording_version="v1")
        session.add(ShopSetting(tenant_id=shop_id, key="loyalty.earn_from", value="staff"))
        session.flush()
    return ids


def outbox_objects(session: Any, claim_id: int, label: str) -> dict[str, int]:
    """Outbox rows for the outbox routes: a held one (view, cancel), a failed one (retry), a draft (queue)."""
    from bayline.messaging.models import OutboxItem

    ids = {}
    for param, state in (("item_id", "held"), ("failed_item_id", "failed"), ("draft_id", "draft")):
        item = OutboxItem(idempotency_key=f"sweep-{label}-{state}", claim_id=claim_id, channel="email",
                          purpose="transactional", kind="manual", recipient=f"zq-{label.lower()}@example.com",
                          body=f"Zq{label}outboxbody", options={}, state=state, attempts=0)
        session.add(item)
        session.flush()
        ids[param] = item.id
    return ids


def build_tenant(app: Flask, make_shop, make_user, make_claim, label: str) -> Tenant:
    shop = make_shop(name=f"Shop {label} Zq{label}shopname")
    owner = make_user(shop, email=f"owner-{label.lower()}-zq@example.com")
    spare = make_user(shop, role="estimator", email=f"zq-{label.lower()}-estimator@example.com")
    claim = make_claim(shop, number=f"ZQ-{label}-0001", customer_last_name=f"Zq{label}lastname",
                       internal_notes=f"zq {label} secret note")
    with app.app_context():
        from bayline.db import get_session

        session = get_session()
        set_tenant(shop.id, session)
        from bayline.claims import stages as stage_service

        spare_stage = stage_service.add_stage(name=f"Zq{label}stage", customer_label=f"Zq{label}label")
        from bayline.auth.api_keys import create_api_key

        api_key, _ = create_api_key(shop.id, f"Zq{label}keyname", ["read"], operator=True)
        from bayline.auth.invitations import invite

        invitation = invite(shop, f"zq-{label.lower()}-invitee@example.com", f"Zq{label}invitee", "advisor", None)
        plugin_ids = plugin_objects(app, session, shop.id, label)
        plugin_ids.update(outbox_objects(session, claim.id, label))
        commit(session)
        membership = session.scalar(select(Membership).where(Membership.user_id == spare.id))
        first_stage = session.get(Claim, claim.id).stage_id
        photo_id, attachment_id = add_files(session.get(Claim, claim.id))
        tenant = Tenant(shop=shop, owner=owner, claim=claim,
                        markers=[f"ZQ-{label}-0001", f"Zq{label}lastname", f"zq {label} secret note",
                                 f"Zq{label}stage", f"zq-{label.lower()}-estimator", f"Zq{label}shopname",
                                 f"Zq{label}keyname", f"Zq{label}outboxbody", f"zq-{label.lower()}-invitee",
                                 f"Zq{label}csicomment", f"Zq{label}aidraft", f"Zq{label}member",
                                 f"Zq{label}passkey"],
                        ids={"claim_id": claim.id, "stage_id": spare_stage.id, "membership_id": membership.id,
                             "photo_id": photo_id, "attachment_id": attachment_id, "key_id": api_key.id,
                             "invitation_id": invitation.id,
                             "link_id": claim.portal_link.token.id, **plugin_ids},
                        own_stage=first_stage)
        assert isinstance(session.get(Stage, spare_stage.id), Stage)
    return tenant


def login_page_token(client: FlaskClient) -> str:
    return csrf_token(client, "/login")


@dataclass
class Probe:
    """A way of calling the app as shop A (or anonymously)."""

    name: str
    client: FlaskClient
    headers: dict[str, str]
    expect: tuple[int, ...]  # the statuses allowed for another shop's object


def object_rules(app: Flask) -> list[Any]:
    return sorted((r for r in app.url_map.iter_rules() if r.arguments and r.endpoint != "static"),
                  key=lambda r: r.rule)


_SAMPLES = {"date": "2031-05-06", "date-time": "2031-05-06T10:00:00+00:00", "email": "sweep@example.com"}


def _sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: _sample(v, spec) for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    if kind == "array":
        return []
    return {"integer": 1, "number": 1, "boolean": True}.get(kind) or _SAMPLES.get(schema.get("format"), "sweep")


def openapi_body(app: Flask, rule: str, method: str) -> Any:
    """A minimal valid body from the OpenAPI document (required fields only), for routes not in BODIES."""
    spec = app.extensions["bayline.api"].spec.to_dict()
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return _sample(schema, spec) if schema else None


def _send(probe: Probe, method: str, url: str, rule: str, own: Tenant) -> Any:
    app = probe.client.application
    body = BODIES.get((rule, method)) or (openapi_body(app, rule, method) if rule.startswith("/api/") else None)
    if isinstance(body, dict):
        own_values = {"{own_stage}": own.own_stage, "{own_claim_number}": own.markers[0]}
        body = {k: own_values.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    kwargs: dict[str, Any] = {"headers": probe.headers}
    if (rule, method) in MULTIPART:
        body = MULTIPART[(rule, method)]()
        if not url.startswith("/api/"):
            body["csrf_token"] = probe.headers.get("X-CSRFToken", "")
        return probe.client.open(url, method=method, data=body, content_type="multipart/form-data", **kwargs)
    if method not in ("GET", "HEAD", "DELETE") or body is not None:
        if url.startswith("/api/"):
            kwargs["json"] = body if body is not None else {}
        else:
            kwargs["data"] = {**(body or {}), "csrf_token": probe.headers.get("X-CSRFToken", "")}
    return probe.client.open(url, method=method, **kwargs)


def sweep(app: Flask, probes: list[Probe], attacker: Tenant, victim: Tenant) -> list[str]:
    """Request every object route as ``attacker`` against ``victim``'s objects; list every problem."""
    problems: list[str] = []
    for rule in object_rules(app):
        params = sorted(rule.arguments - NOT_OBJECT_IDS)
        if not params or set(params) & set(UNSWEPT):
            continue
        missing = [p for p in params if p not in victim.ids]
        if missing:
            problems.append(f"{rule.rule}: no fixture object for parameter(s) {missing}; add one to the sweep")
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for probe in probes:
            portal_rule = rule.rule.startswith("/c/")
            if probe.name == "portal" and not portal_rule:
                continue  # a customer's portal session is probed on portal routes only
            # the portal answers 404 to anyone without a session for the object's claim (an anonymous
            # unsafe request is refused earlier, 400, for its missing CSRF token)
            expect = ((400, 404) if probe.name == "anonymous" else (404,)) if portal_rule else probe.expect
            for method in methods:
                if not (rule.rule.startswith("/api/") or probe.name != "api key"):
                    continue  # the console is for logged-in people, not API keys
                url = rule.build({p: victim.ids[p] for p in params}, append_unknown=False)[1]
                r = _send(probe, method, url, rule.rule, attacker)
                text = r.get_data(as_text=True)
                leaked = [m for m in victim.markers if m in text]
                if r.status_code not in expect or leaked:
                    problems.append(f"{method} {rule.rule} as {probe.name}: {r.status_code} for another shop's "
                                    f"object (want {expect}){'; leaked ' + repr(leaked) if leaked else ''}")
                if r.is_json and url.startswith("/api/") and set(r.json) < {"code", "status", "message"}:
                    problems.append(f"{method} {rule.rule} as {probe.name}: error is not JSON {{code, status, ...}}")
    return problems


def controls(app: Flask, probes: list[Probe], own: Tenant) -> list[str]:
    """The same requests on the caller's own objects must work (else the sweep proves nothing)."""
    problems = []
    calls = []
    for rule in object_rules(app):
        params = sorted(rule.arguments - NOT_OBJECT_IDS)
        if not params or any(p not in own.ids for p in params):
            continue
        for probe in probes:
            if probe.expect != (404,) or (probe.name == "api key" and (not rule.rule.startswith("/api/")
                                                                        or rule.rule in STAFF_ONLY)):
                continue
            if (probe.name == "portal") != rule.rule.startswith("/c/"):
                continue  # portal routes are controlled with the customer's session, the rest with staff
            calls += [(rule, method, probe, params) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
            break  # one probe per rule is enough for the control
    # DELETEs last, across all routes: a (soft) deleted object is gone for the other routes too
    for rule, method, probe, params in sorted(calls, key=lambda c: c[1] == "DELETE"):
        url = rule.build({p: own.ids[p] for p in params}, append_unknown=False)[1]
        r = _send(probe, method, url, rule.rule, own)
        # With a known-good body the request must succeed; without one (a plugin form) it
        # must at least find the object: a 404 here would make the probe's 404 meaningless.
        known = (rule.rule, method) in BODIES or method in ("GET", "DELETE") or rule.rule.startswith("/api/")
        if r.status_code >= 500 or r.status_code == 404 or (known and r.status_code >= 400):
            problems.append(f"control {method} {rule.rule} as {probe.name} on its own object: "
                            f"{r.status_code} {r.get_data(as_text=True)[:200]}")
    return problems


@pytest.fixture
def tenants(app, make_shop, make_user, make_claim) -> tuple[Tenant, Tenant]:
    return (build_tenant(app, make_shop, make_user, make_claim, "A"),
            build_tenant(app, make_shop, make_user, make_claim, "B"))


def make_probes(app: Flask, a: Tenant, api_client, client_for, portal_client=None) -> list[Probe]:
    staff = client_for(a.owner, a.shop)
    customer = portal_client(a.claim) if portal_client else None
    portal = [Probe("portal", customer, {"X-CSRFToken": csrf_token(customer, "/c/s/")}, (404,))] if customer else []
    return [
        Probe("api key", api_client(a.shop, scopes=("admin",)), {}, (404,)),
        Probe("staff owner", staff, {"X-CSRFToken": login_page_token(staff)}, (404,)),
        # anonymous: 401 from the API, 400 when an unsafe request has no CSRF token,
        # a redirect to the login page from the console; never the object
        Probe("anonymous", app.test_client(), {}, (302, 400, 401)),
        *portal,  # a customer of shop A's claim, on the portal routes
    ]


def test_unswept_parameters_are_still_in_use(app):
    used = {a for r in app.url_map.iter_rules() for a in r.arguments}
    assert set(UNSWEPT) <= used, "remove stale UNSWEPT entries"


def test_sweep_covers_the_id_routes(app):
    covered = {r.rule for r in object_rules(app) if r.arguments - NOT_OBJECT_IDS}
    assert {"/api/v1/claims/<int:claim_id>", "/api/v1/claims/<int:claim_id>/stage",
            "/api/v1/claims/<int:claim_id>/eta", "/api/v1/claims/<int:claim_id>/history",
            "/api/v1/stages/<int:stage_id>", "/api/v1/staff/<int:membership_id>",
            "/console/claims/<int:claim_id>"} <= covered


def test_every_id_route_answers_404_for_another_shops_object(app, tenants, api_client, client_for, portal_client):
    a, b = tenants
    probes = make_probes(app, a, api_client, client_for, portal_client)
    problems = sweep(app, probes, a, b)
    assert not problems, "\n".join(problems)
    problems = controls(app, probes, a)
    assert not problems, "\n".join(problems)


def test_listings_never_show_another_shops_rows(app, tenants, api_client, client_for):
    a, b = tenants
    probes = make_probes(app, a, api_client, client_for)[:2]
    lists = sorted(r.rule for r in app.url_map.iter_rules()
                   if r.rule.startswith("/api/v1/") and not r.arguments and "GET" in r.methods
                   and r.endpoint.split(".")[0] != "api-docs")
    seen_own = set()
    for probe in probes:
        for url in [*lists, "/console/"]:
            if url == "/console/" and probe.name == "api key":
                continue
            r = probe.client.get(url, headers=probe.headers)
            text = r.get_data(as_text=True)
            assert not [m for m in b.markers if m in text], f"GET {url} as {probe.name} shows shop B's data"
            if r.status_code == 200:
                seen_own.update(m for m in a.markers if m in text)
            else:
                assert r.status_code in (403,), f"GET {url} as {probe.name}: {r.status_code}"
    # the listings do show A's own rows, so their silence about B means something
    assert {"ZQ-A-0001", "ZqAstage", "zq-a-estimator", "ZqAshopname"} <= seen_own
    # filters that name B's objects find nothing either
    key = probes[0].client
    assert key.get(f"/api/v1/claims?stage_id={b.own_stage}").json == []
    assert key.get("/api/v1/claims?q=ZQ-B").json == []
    assert key.get("/api/v1/claims?include_archived=true").headers["X-Pagination"].count('"total": 1') == 1


def test_group_admin_cross_shop_path_shows_only_the_groups_shops(app, make_shop, make_user, make_claim,
                                                                  client_for, api_client):
    first = make_shop(name="North")
    second = make_shop(name="South", group_id=first.group_id)
    outsider = make_shop(name="Elsewhere")
    mine = {make_claim(first, number="G-1").id, make_claim(second, number="G-2").id}
    theirs = make_claim(outsider, number="X-1")
    admin = make_user(first, group_admin=True)
    client = client_for(admin, first)

    r = client.get("/api/v1/group/claims")
    assert r.status_code == 200
    assert {c["id"] for c in r.json} == mine
    assert "X-1" not in r.get_data(as_text=True)
    # asking to act for a shop outside the group does not widen the view
    r = client.get("/api/v1/group/claims", headers={"X-Bayline-Shop": str(outsider.id)})
    assert {c["id"] for c in r.json} == mine
    assert client.get(f"/api/v1/claims/{theirs.id}", headers={"X-Bayline-Shop": str(outsider.id)}).status_code == 404
    # the group view is the group admin's alone; a shop owner and an API key are refused
    owner = make_user(first)
    assert client_for(owner, first).get("/api/v1/group/claims").status_code == 403
    assert api_client(first).get("/api/v1/group/claims").status_code == 403
    assert app.test_client().get("/api/v1/group/claims").status_code == 401


def test_sweep_catches_an_unscoped_route(app, tenants, api_client, client_for):
    """A route that reads a claim with ``unscoped()`` is reported by the sweep, by name."""
    from bayline.db import get_session
    from bayline.tenancy import unscoped

    leaky = Blueprint("leaky_test", __name__)

    @leaky.get("/api/v1/leaky/claims/<int:claim_id>")
    def leak(claim_id: int) -> Any:
        with unscoped():
            claim = get_session().get(Claim, claim_id)
        return jsonify(number=claim.number) if claim else ({"code": "not_found", "status": 404,
                                                            "message": "no"}, 404)

    app.register_blueprint(leaky)  # before the first request of this app
    a, b = tenants
    probes = make_probes(app, a, api_client, client_for)[:2]
    problems = sweep(app, probes, a, b)
    caught = [p for p in problems if "/api/v1/leaky/claims/<int:claim_id>" in p]
    assert caught, problems
    assert any("leaked ['ZQ-B-0001']" in p and "as api key" in p for p in caught)


# Routes with no object id and no shop: load balancers' and Prometheus' (core/ops). Listed so a new
# one joins this sweep by name; each is requested as every probe and must show no shop's data.
OPS_ROUTES = {"/-/health", "/-/ready", "/-/metrics"}


def test_ops_routes_show_no_shops_data(app, tenants, api_client, client_for, portal_client):
    a, b = tenants
    assert {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("ops.")} == OPS_ROUTES
    probes = make_probes(app, a, api_client, client_for, portal_client)
    for probe in probes:
        for url in sorted(OPS_ROUTES):
            r = probe.client.get(url, headers=probe.headers)
            text = r.get_data(as_text=True)
            leaked = [m for m in a.markers + b.markers if m in text]
            assert r.status_code == 200, f"GET {url} as {probe.name}: {r.status_code}"
            assert not leaked, f"GET {url} as {probe.name} shows shop data: {leaked}"


# Routes on the shop's own texting number (SMS plugin): no id in the URL, the shop is the caller's.
# Each is requested as every probe while both shops hold a number: only A's number may change, B's
# number, its releases and its texts never (issue 17, M4).
SMS_NUMBER_ROUTES = {("/plugins/sms/number", "GET"), ("/plugins/sms/number", "PUT"),
                     ("/plugins/sms/number", "DELETE"), ("/plugins/sms/number", "POST"),
                     ("/plugins/sms/number/release", "POST")}


def test_sms_number_routes_act_on_the_callers_number_only(app, tenants, api_client, client_for):
    if "sms" not in app.extensions["bayline.plugins"].plugins:
        pytest.skip("the sms plugin is not installed")
    from bayline_sms.models import SmsNumber, SmsNumberRelease

    from bayline.testing.plugin import in_tenant

    a, b = tenants
    numbers = {a.shop.id: "+16175550181", b.shop.id: "+16175550182"}
    rules = {(r.rule, m) for r in app.url_map.iter_rules() if r.rule.startswith("/plugins/sms/number")
             and not r.rule.startswith("/plugins/sms/numbers") for m in r.methods - {"HEAD", "OPTIONS"}}
    assert rules == SMS_NUMBER_ROUTES, "a new number route joins SMS_NUMBER_ROUTES"

    def state() -> dict[int, tuple[str | None, int]]:
        with in_tenant(app) as session:  # unscoped
            out = {}
            for shop_id in numbers:
                held = session.scalars(select(SmsNumber.phone_number).where(SmsNumber.tenant_id == shop_id)).first()
                released = len(session.scalars(select(SmsNumberRelease).where(
                    SmsNumberRelease.tenant_id == shop_id)).all())
                out[shop_id] = (held, released)
            return out

    def give_numbers() -> None:
        with in_tenant(app) as session:
            for shop_id, number in numbers.items():
                if session.scalars(select(SmsNumber).where(SmsNumber.tenant_id == shop_id)).first() is None:
                    session.add(SmsNumber(tenant_id=shop_id, phone_number=number, source="assigned"))
            session.commit()

    give_numbers()
    b_before = state()[b.shop.id]
    for probe in make_probes(app, a, api_client, client_for):
        for rule, method in sorted(SMS_NUMBER_ROUTES):
            give_numbers()
            a_before = state()[a.shop.id]
            body = {"phone_number": numbers[b.shop.id]} if method in ("PUT", "POST") and rule.endswith("/number") \
                else None
            headers = {**probe.headers, "Accept": "application/json"}
            if rule.endswith("/release") or (method == "POST" and probe.name == "staff owner"):
                form = {"csrf_token": probe.headers.get("X-CSRFToken", ""), **(body or {})}
                r = probe.client.open(rule, method=method, data=form, headers=headers)
            else:
                r = probe.client.open(rule, method=method, json=body, headers=headers)
            where = f"{method} {rule} as {probe.name}"
            assert numbers[b.shop.id] not in r.get_data(as_text=True) or r.status_code == 409, where
            after = state()
            assert after[b.shop.id] == b_before, f"{where} changed shop B's number"
            if probe.name == "anonymous":
                assert r.status_code in probe.expect, f"{where}: {r.status_code}"
                assert after[a.shop.id] == a_before, f"{where} changed shop A's number"
            elif method == "DELETE" or rule.endswith("/release"):
                assert r.status_code in (200, 302), f"{where}: {r.status_code}"
                assert after[a.shop.id] == (None, a_before[1] + 1), f"{where} did not release A's own number"
            elif method in ("PUT", "POST"):  # taking B's number: refused, A keeps its own
                assert r.status_code in (409, 302), f"{where}: {r.status_code}"
                if r.status_code == 409:
                    assert r.get_json()["code"] == "sms_number_taken", where
                assert after[a.shop.id] == a_before, f"{where} changed shop A's number"
            else:
                assert r.status_code == 200 and r.get_json()["number"]["phone_number"] == numbers[a.shop.id], where
