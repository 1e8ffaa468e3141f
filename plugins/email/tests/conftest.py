"""Fixtures for the email plugin: a shop with the feature and a claim, a real Dovecot IMAP server on
loopback, an SMTP receiver standing in for the shop's mail server, and our inbound
SMTP endpoint (aiosmtpd) for the forwarding and reply addresses. Mail builders and row reads are
in ``email_helpers`` (tests import it; importing ``conftest`` by name finds another plugin's)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from bayline_email.testing.dovecot import Dovecot, available
from bayline_email.testing.smtp import SmtpReceiver
from email_helpers import DOMAIN, VIN

from bayline.testing.plugin import in_tenant


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"BAYLINE_PLUGIN_EMAIL_INBOUND_DOMAIN": DOMAIN, "BAYLINE_SSE_HEARTBEAT": 0.2,
            "BAYLINE_SSE_MAX_SECONDS": 30}


@pytest.fixture
def email_shop(app, make_shop, make_user, make_claim, enable_plugin, client_for, set_setting) -> Callable[..., Any]:
    """``email_shop(name)``: a shop with the email feature, quiet hours off, an owner (and their console
    client) and an open claim with a customer email, an adjuster and identifiers."""

    def factory(name: str = "Harbor Collision") -> SimpleNamespace:
        shop = make_shop(plan="starter", name=name)
        enable_plugin(shop, "email")
        set_setting(shop, "messaging.quiet_hours_start", "")
        set_setting(shop, "messaging.quiet_hours_end", "")
        owner = make_user(shop, "owner", email=f"owner-{uuid.uuid4().hex[:8]}@harbor.test")
        tag = uuid.uuid4().hex[:6].upper()
        claim = make_claim(shop, number=f"RO-{tag}", customer_email=f"dana.{tag.lower()}@customer.test",
                           adjuster_email=f"adj.{tag.lower()}@insurer.test", adjuster_name="Alex Adjuster",
                           insurer="Bay Mutual", insurer_claim_number=f"BM-{tag}-77", vin=VIN, plate="7ABC123")
        return SimpleNamespace(shop=shop, owner=owner, claim=claim, console=client_for(owner), tag=tag)

    return factory


@pytest.fixture
def ingest(app) -> Callable[..., Any]:
    """``ingest(shop, raw, recipients=None)`` stores ``raw`` for ``shop`` the way every source does."""

    def run(shop: Any, raw: bytes, recipients: list[str] | None = None, provider_id: str | None = None) -> Any:
        from bayline_email import service

        with in_tenant(app, shop.id):
            result = service.ingest(raw, recipients=recipients, provider_id=provider_id)
            return SimpleNamespace(id=result.row.id, created=result.created, claim_id=result.row.claim_id,
                                   audience=result.row.audience, signal=result.row.match_signal,
                                   reason=result.row.match_reason, notes=list(result.row.notes),
                                   body=result.row.body_text, quoted=result.row.quoted_text,
                                   html=result.row.body_html, core_message_id=result.row.core_message_id,
                                   attachment_ids=list(result.row.attachment_ids))

    return run


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not available():
        pytest.fail("Dovecot is not installed (apt-get install dovecot-imapd)")
    import shutil
    import tempfile

    # not under pytest's tmp folder: that is private to us (0700), and Dovecot's auth and mail processes
    # run as its own users
    root = tempfile.mkdtemp(prefix="bayline-dovecot-")
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def smtp_server() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def inbound_smtp(app) -> Iterator[Any]:
    """Our own inbound SMTP endpoint (forwarding and reply addresses) on a free loopback port."""
    from bayline_email.inbound import controller
    from bayline_email.testing.dovecot import free_port

    ctl = controller(app, "127.0.0.1", free_port())
    ctl.start()
    yield ctl
    ctl.stop()


@pytest.fixture
def live_port() -> int:
    """The port the app will be served on (so ``BAYLINE_PUBLIC_URL`` can name it before the app exists)."""
    from bayline_email.testing.dovecot import free_port

    return free_port()


@pytest.fixture
def live_server(app, live_port) -> Iterator[str]:
    """The app on ``http://127.0.0.1:<live_port>`` in a thread: providers' stand-ins call it (push
    notifications, Graph's validation handshake) like the real providers call the public URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join()
