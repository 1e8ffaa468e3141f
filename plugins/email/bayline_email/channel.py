"""The email channel behind the core outbox: ``deliver`` sends one outbox row through the shop's connected
mailbox (Gmail's ``messages.send`` with the thread's ``threadId``, Microsoft Graph's ``sendMail`` with the
MIME message, or the shop's own SMTP server), so it leaves from the shop's address and domain and lands
in its Sent folder (Gmail and Microsoft 365 file it themselves; over SMTP we copy it there by IMAP).

Threading: a reply carries ``In-Reply-To`` / ``References`` of the latest mail of its claim thread
(customer or adjuster) and its subject ("Re: ..."); ``Reply-To`` is our reply address for that claim and
thread, so an answer lands on the claim even from a client that rewrites the threading headers.
Idempotent: the Message-ID is derived from the outbox's provider key (the same on every attempt of
one send), a row we already handed over is never sent again, and a retry through Gmail or Graph first
looks for that Message-ID in the Sent folder (a worker killed after the API call)."""
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


def _retry_in(item: OutboxItem) -> int:
    return min(600, 5 * 2 ** max(item.attempts - 1, 0))


def _api_send(conn: Any, item: OutboxItem, mime: Mime, parent: EmailMessage | None) -> dict[str, Any]:
    """Send through Gmail's or Graph's API. Returns ``{"provider_id", "thread", "message_id"}`` or an
    outbox answer (``{"state": ...}``) when it did not go out."""
    from . import gmail, graph

    message_id = str(mime["Message-ID"])
    try:
        if conn.kind == "gmail":
            if item.attempts > 1 and (found := gmail.already_sent(conn, message_id)):  # out before a crash
                sent = found
            else:
                sent = gmail.send(conn, mime.as_bytes(), gmail.thread_of(conn, parent.provider_thread
                                                                        if parent else None))
            return {"provider_id": f"gmail:{conn.id}:{sent['id']}", "message_id": message_id,
                    "thread": f"gmail:{conn.id}:{sent['threadId']}" if sent.get("threadId") else None}
        if not (item.attempts > 1 and graph.already_sent(conn, message_id)):
            graph.send(conn, mime.as_bytes())
        return {"provider_id": None, "message_id": message_id, "thread": parent.provider_thread if parent else None}
    except (gmail.TokenMissing, graph.TokenMissing):
        return {"state": "failed", "reason": "The mailbox must be reconnected (the provider refused its token)."}
    except Exception as exc:
        status = getattr(exc, "status", None) or gmail._status(exc)
        if status in (401, 403):
            conn.status, conn.last_error = "reauthorize", f"the provider refused to send ({status})"
            return {"state": "failed", "reason": f"The provider refused to send ({status}): reconnect the mailbox."}
        if status is not None and status < 500 and status != 429:
            return {"state": "failed", "reason": f"The provider refused the message ({status})."}
        if item.attempts >= MAX_ATTEMPTS:
            return {"state": "failed", "reason": f"The provider was unreachable after {item.attempts} attempts."}
        return {"state": "retry", "retry_in": _retry_in(item),
                "reason": f"provider busy or unreachable ({status or type(exc).__name__})"}


def _smtp_send(conn: Any, item: OutboxItem, mime: Mime) -> dict[str, Any]:
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
            return {"state": "retry", "retry_in": _retry_in(item), "reason": f"mail server busy ({exc.smtp_code})"}
        return {"state": "failed", "reason": f"The mail server refused the message ({exc.smtp_code})."}
    except TEMPORARY as exc:
        if item.attempts >= MAX_ATTEMPTS:
            return {"state": "failed", "reason": f"Mail server unreachable after {item.attempts} attempts."}
        return {"state": "retry", "retry_in": _retry_in(item),
                "reason": f"mail server unreachable ({type(exc).__name__})"}
    note = f"not accepted for {', '.join(refused)}" if refused else None
    if not _file_in_sent(conn, mime):
        note = "; ".join(filter(None, [note, "not copied to the mailbox's Sent folder"]))
    return {"provider_id": None, "message_id": str(mime["Message-ID"]), "thread": None, "note": note}


def deliver(item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
    if item.channel != CHANNEL:
        return None
    conn = service.sending_connection()
    if conn is None:
        return {"state": "failed", "reason": "No connected mailbox can send (connect Gmail, Microsoft 365 or a "
                "mailbox with an SMTP server)."}
    if conn.kind == "imap" and conn.auth != "oauth" and conn.username and service.secret(conn) is None:
        return {"state": "failed", "reason": "The mailbox must be reconnected (its password no longer opens)."}
    mime = build(item, body, provider_key, conn.address, conn.display_name)
    session = get_session()
    stored = session.scalars(select(EmailMessage).where(EmailMessage.message_id == mime["Message-ID"])).first()
    if stored is not None and stored.delivery_state == "sent":  # handed over before a crash: never twice
        return {"state": "sent", "provider_id": stored.message_id}
    audience = str((item.options or {}).get("audience") or "customer")
    parent = _latest(item.claim_id, audience) if item.claim_id else None
    sent = _api_send(conn, item, mime, parent) if conn.kind in ("gmail", "graph") else _smtp_send(conn, item, mime)
    if "state" in sent:
        return sent
    claim = session.get(Claim, item.claim_id) if item.claim_id else None
    if stored is None:
        stored = EmailMessage(tenant_id=item.tenant_id, connection_id=conn.id, message_id=sent["message_id"],
                              provider_id=sent["provider_id"] or f"out:{item.id}:{provider_key}"[:300],
                              provider_thread=sent["thread"],
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
    return {"state": "sent", "provider_id": stored.message_id, "reason": sent.get("note")}
