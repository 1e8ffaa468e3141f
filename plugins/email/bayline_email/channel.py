"""The email channel behind the core outbox: ``deliver`` sends one outbox row through the shop's own
SMTP server, so it leaves from the shop's address and domain.

Threading: a reply carries ``In-Reply-To`` / ``References`` of the latest mail of its claim thread
(customer or adjuster) and its subject ("Re: ..."); ``Reply-To`` is our reply address for that claim and
thread, so an answer lands on the claim even from a client that rewrites the threading headers.
Idempotent: the Message-ID is derived from the outbox's provider key (the same on every attempt of
one send), and a row we already handed to the server is never sent again."""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage as Mime
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import Claim, OutboxItem, get_session, outbox, utcnow

from . import service
from .models import EmailMessage
from .parsing import normalise_subject
from .tokens import reply_address

CHANNEL = "email"
TEMPORARY = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError, OSError)
MAX_ATTEMPTS = 7


def _latest(claim_id: int, audience: str) -> EmailMessage | None:
    return get_session().scalars(select(EmailMessage).where(
        EmailMessage.claim_id == claim_id, EmailMessage.audience == audience)
        .order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc())).first()


def build(item: OutboxItem, body: str, provider_key: str, from_addr: str, from_name: str | None) -> Mime:
    audience = str((item.options or {}).get("audience") or "customer")
    claim = get_session().get(Claim, item.claim_id) if item.claim_id else None
    domain = from_addr.partition("@")[2] or "bayline.invalid"
    mime = Mime()
    mime["Message-ID"] = f"<{hashlib.sha256(provider_key.encode()).hexdigest()[:32]}@{domain}>"
    mime["Date"] = format_datetime(utcnow())
    mime["From"] = f"{from_name} <{from_addr}>" if from_name else from_addr
    mime["To"] = item.recipient
    parent = _latest(claim.id, audience) if claim else None
    subject = item.subject
    if parent is not None:
        refs = (parent.references_hdr or "").split()
        mime["In-Reply-To"] = parent.message_id
        mime["References"] = " ".join([*refs[-20:], parent.message_id])
        if not subject:
            base = parent.subject or ""
            subject = base if normalise_subject(base) != base.strip().lower() else f"Re: {base}"
    if not subject:
        subject = f"Your repair {claim.number}" if claim else "A message from the shop"
    mime["Subject"] = subject
    if claim is not None:
        mime["Reply-To"] = reply_address(claim.tenant_id, claim.id, audience)
    for name, value in outbox.unsubscribe_headers(item).items():
        mime[name] = value
    mime.set_content(body)
    return mime


def _smtp(conn: Any) -> smtplib.SMTP:
    password = None if conn.auth == "oauth" else service.secret(conn)
    if conn.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(conn.smtp_host, conn.smtp_port or 465, timeout=60,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(conn.smtp_host, conn.smtp_port or 587, timeout=60)
        if conn.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if conn.auth == "oauth":
        from . import oauth

        token = oauth.access_token(conn)
        if token is None:
            client.close()
            raise smtplib.SMTPAuthenticationError(535, b"reconnect: the provider refused the refresh token")
        user = conn.username or conn.address
        client.ehlo_or_helo_if_needed()
        client.auth("XOAUTH2", lambda challenge=None: f"user={user}\1auth=Bearer {token}\1\1",
                    initial_response_ok=True)
    elif conn.username and password is not None:
        client.login(conn.username, password)
    return client


def _file_in_sent(conn: Any, mime: Mime) -> bool:
    """Copy the sent mail into the mailbox's Sent folder over IMAP (SMTP servers other than Gmail's do not),
    so the shop sees it in its own mail client. Best effort: the mail is already sent."""
    if conn.kind != "imap" or not conn.imap_host:
        return True
    from . import imap

    try:
        client = imap.client(conn)
    except Exception:
        return False
    try:
        folder = imap.sent_folder(client)
        client.append(folder, mime.as_bytes(), flags=[b"\\Seen"])
        return True
    except Exception:
        return False
    finally:
        try:
            client.logout()
        except Exception:
            client.shutdown()


def deliver(item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
    if item.channel != CHANNEL:
        return None
    conn = service.sending_connection()
    if conn is None:
        return {"state": "failed", "reason": "No mailbox with an outgoing (SMTP) server is connected."}
    if conn.auth != "oauth" and conn.username and service.secret(conn) is None:
        return {"state": "failed", "reason": "The mailbox must be reconnected (its password no longer opens)."}
    mime = build(item, body, provider_key, conn.address, conn.display_name)
    session = get_session()
    stored = session.scalars(select(EmailMessage).where(EmailMessage.message_id == mime["Message-ID"])).first()
    if stored is not None and stored.delivery_state == "sent":  # handed over before a crash: never twice
        return {"state": "sent", "provider_id": stored.message_id}
    try:
        with _smtp(conn) as client:
            refused = client.send_message(mime)
    except smtplib.SMTPAuthenticationError as exc:
        conn.status, conn.last_error = "reauthorize", f"SMTP login refused: {exc.smtp_code}"
        return {"state": "failed", "reason": f"The mail server refused the login ({exc.smtp_code})."}
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0] if exc.recipients else ""
        return {"state": "failed", "reason": f"The mail server refused the recipient ({code})."}
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500 and item.attempts < MAX_ATTEMPTS:
            return {"state": "retry", "retry_in": min(600, 5 * 2 ** max(item.attempts - 1, 0)),
                    "reason": f"mail server busy ({exc.smtp_code})"}
        return {"state": "failed", "reason": f"The mail server refused the message ({exc.smtp_code})."}
    except TEMPORARY as exc:
        if item.attempts >= MAX_ATTEMPTS:
            return {"state": "failed", "reason": f"Mail server unreachable after {item.attempts} attempts."}
        return {"state": "retry", "retry_in": min(600, 5 * 2 ** max(item.attempts - 1, 0)),
                "reason": f"mail server unreachable ({type(exc).__name__})"}
    claim = session.get(Claim, item.claim_id) if item.claim_id else None
    audience = str((item.options or {}).get("audience") or "customer")
    if stored is None:
        stored = EmailMessage(tenant_id=item.tenant_id, connection_id=conn.id, message_id=mime["Message-ID"],
                              provider_id=f"smtp:{item.id}:{provider_key}"[:300],
                              in_reply_to=mime["In-Reply-To"], references_hdr=mime["References"],
                              thread_root=((mime["References"] or "").split() or [mime["Message-ID"]])[0],
                              direction="out", audience=audience, claim_id=claim.id if claim else None,
                              match_signal="sent", match_reason="sent from the claim page",
                              from_addr=conn.address, from_name=conn.display_name, to_addrs=[item.recipient],
                              subject=str(mime["Subject"]), sent_at=utcnow(),
                              body_text=outbox.display_body(item.body), notes=[],
                              attachment_ids=[], outbox_item_id=item.id, core_message_id=item.message_id,
                              created_at=utcnow())
        session.add(stored)
    stored.delivery_state = "sent"
    note = f"not accepted for {', '.join(refused)}" if refused else None
    if not _file_in_sent(conn, mime):
        note = "; ".join(filter(None, [note, "not copied to the mailbox's Sent folder"]))
    return {"state": "sent", "provider_id": stored.message_id, "reason": note}
