"""Storing mail once, on the right claim and thread; re-linking; connections and their health.

One path for every source (IMAP sync, IDLE push, the reconciler, our SMTP endpoint for the forwarding
address): :func:`ingest` in the shop's tenant context. A message is stored once per shop: a known
Message-ID or provider id returns the stored row (re-running a sync imports nothing twice).
Customer-thread mail is also put on the claim's one conversation (``messages.receive``, channel
``email``), which tells the claim's open portal and staff pages at once; adjuster-thread mail stays
staff-only (the portal never shows it)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Message,
    Rejected,
    Shop,
    commit,
    current_tenant_id,
    files,
    get_session,
    messages,
    prefetched,
    seal,
    storage,
    unseal,
    utcnow,
)

from .models import AUDIENCES, EmailConnection, EmailLink, EmailMessage
from .parsing import Parsed, normalise_subject, parse
from .resolver import Match, resolve

log = logging.getLogger(__name__)
SECRET_PURPOSE = "email.connection"


@dataclass
class Ingested:
    row: EmailMessage
    created: bool


def find(parsed_id: str | None = None, provider_id: str | None = None) -> EmailMessage | None:
    conds = []
    if parsed_id:
        conds.append(EmailMessage.message_id == parsed_id)
    if provider_id:
        conds.append(EmailMessage.provider_id == provider_id)
    if not conds:
        return None
    return get_session().scalars(select(EmailMessage).where(or_(*conds))).first()


def _shop_addresses() -> set[str]:
    return {a.lower() for a in get_session().scalars(select(EmailConnection.address))}


def ingest(raw: bytes, *, connection: EmailConnection | None = None, provider_id: str | None = None,
           recipients: list[str] | None = None, provider_thread: str | None = None) -> Ingested:
    """Store one raw message for the current shop (idempotent) and commit. ``provider_thread`` is the
    mailbox's own conversation id (Gmail threadId, Graph conversationId), a resolver signal."""
    parsed = parse(raw)
    existing = find(parsed.message_id, provider_id)
    if existing is not None:
        if provider_id and existing.provider_id is None:  # our sent copy, now seen in the mailbox
            existing.provider_id, existing.provider_thread = provider_id, existing.provider_thread or provider_thread
            commit(get_session())
        return Ingested(existing, False)
    match = resolve(parsed, recipients, provider_thread)
    session = get_session()
    shop_id = current_tenant_id()
    own = parsed.from_addr in _shop_addresses()
    key = storage.new_key(shop_id or 0, "email") + "/message.eml"
    storage.get_storage().put(key, raw, "message/rfc822")
    row = EmailMessage(tenant_id=shop_id, connection_id=connection.id if connection else None,
                       provider_id=provider_id, message_id=parsed.message_id, in_reply_to=parsed.in_reply_to,
                       provider_thread=(provider_thread or "")[:300] or None,
                       references_hdr=" ".join(parsed.references) or None, thread_root=parsed.thread_root[:300],
                       direction="out" if own else "in", from_addr=parsed.from_addr, from_name=parsed.from_name,
                       to_addrs=parsed.to_addrs, subject=parsed.subject, sent_at=parsed.sent_at,
                       body_text=parsed.new_text, quoted_text=parsed.quoted, body_html=parsed.html,
                       notes=[*parsed.notes, *match.notes], attachment_ids=[], raw_key=key,
                       delivery_state="received" if not own else "sent", created_at=utcnow())
    _file(row, match, parsed)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same message arrived at the same moment by another path
        session.rollback()
        storage.get_storage().delete(key)
        found = find(parsed.message_id, provider_id)
        if found is None:
            raise
        return Ingested(found, False)
    if connection is not None:
        connection.last_received_at = utcnow()
    commit(session)
    return Ingested(row, True)


def _file(row: EmailMessage, match: Match, parsed: Parsed | None, attachments: bool = True) -> None:
    """Put ``row`` on ``match``'s claim and thread: the reason, attachments through the core files
    pipeline (each checked on its own: a refused one is a note, the rest are kept) and, for the
    customer thread, the claim's one conversation."""
    row.claim_id = match.claim.id if match.claim else None
    row.audience = match.audience if match.audience in AUDIENCES else "customer"
    row.match_signal, row.match_reason = match.signal, match.reason[:300]
    if match.claim is None:
        return
    claim = match.claim
    if parsed is None and row.raw_key and attachments:
        parsed = parse(storage.get_storage().get(row.raw_key))
    for part in parsed.attachments if parsed and attachments else []:
        try:
            added, _batch = files.add_attachments(
                claim, [files.Incoming(part.filename, part.data)],
                source="customer" if row.audience == "customer" else "staff",
                note=f"email from {row.from_addr}: {row.subject}"[:200])
            row.attachment_ids = [*row.attachment_ids, *(a.id for a in added)]
        except Rejected as refused:
            row.notes = [*row.notes, f"attachment {part.filename!r} not stored: {refused.message}"]
    if row.audience == "customer" and row.direction == "in" and row.core_message_id is None:
        body = row.body_text or f"(email: {row.subject or 'no text'})"
        message = messages.receive(claim, body[:messages.MAX_BODY], channel="email",
                                   external_id=f"email:{row.message_id}"[:200])
        row.core_message_id = message.id


def relink(row: EmailMessage, claim: Claim, audience: str, user_id: int | None) -> EmailMessage:
    """Staff file ``row`` (and its conversation) on ``claim``'s ``audience`` thread, and teach the rule:
    later mail of the same conversation, or from the same sender with the same subject, follows."""
    if audience not in AUDIENCES:
        raise ValueError("audience")
    session = get_session()
    if row.core_message_id is not None and (row.claim_id != claim.id or audience != "customer"):
        old = session.get(Message, row.core_message_id)
        if old is not None:
            session.delete(old)
        row.core_message_id = None
    moving = row.claim_id != claim.id
    if moving:
        row.attachment_ids = []  # the files are stored again on the new claim (the old claim keeps its copy)
    _file(row, Match(claim, audience, "link", "filed on this claim by staff", []), None, attachments=moving)
    for kind, key in (("thread", row.thread_root),
                      ("sender_subject", f"{row.from_addr}|{normalise_subject(row.subject)}")):
        link = session.scalars(select(EmailLink).where(EmailLink.kind == kind, EmailLink.key == key[:600])).first()
        if link is None:
            session.add(EmailLink(tenant_id=row.tenant_id, kind=kind, key=key[:600], claim_id=claim.id,
                                  audience=audience, created_by_user_id=user_id))
        else:
            link.claim_id, link.audience, link.created_by_user_id = claim.id, audience, user_id
    commit(session)
    return row


MESSAGES, CONNECTIONS = "email.messages", "email.connections"


def _claim_messages_stmt(claim_id: int) -> Any:
    return select(EmailMessage).where(EmailMessage.claim_id == claim_id).order_by(EmailMessage.created_at,
                                                                                  EmailMessage.id)


def _connections_stmt() -> Any:
    return select(EmailConnection).order_by(EmailConnection.id)


def want_claim_rows(claim_id: int, bundle: Any) -> None:
    """The staff claim page's parts (hook prefetch): the claim's mails and the shop's mailboxes, read
    with the page's other rows in one statement."""
    bundle.want(MESSAGES, _claim_messages_stmt(claim_id))
    bundle.want(CONNECTIONS, _connections_stmt())


def connections() -> list[EmailConnection]:
    """The shop's mailboxes (from the page's bundle on the claim page)."""
    return prefetched(CONNECTIONS, _connections_stmt())


def thread(claim: Claim, audience: str) -> list[EmailMessage]:
    return [m for m in prefetched(MESSAGES, _claim_messages_stmt(claim.id))
            if m.claim_id == claim.id and m.audience == audience]


def inbox(limit: int = 100) -> list[EmailMessage]:
    return list(get_session().scalars(select(EmailMessage).where(EmailMessage.claim_id.is_(None))
                                      .order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc())
                                      .limit(limit)))


# -- connections ----------------------------------------------------------------------------------


def connect_imap(*, address: str, imap_host: str, imap_port: int, username: str, password: str,
                 smtp_host: str | None = None, smtp_port: int | None = None, imap_ssl: bool = True,
                 smtp_security: str = "starttls", display_name: str | None = None) -> EmailConnection:
    """Add (or update and reconnect) the shop's IMAP/SMTP mailbox; the password is sealed. A reconnect
    keeps the cursor, so sync resumes where it stopped."""
    session = get_session()
    address = address.strip().lower()
    conn = session.scalars(select(EmailConnection).where(EmailConnection.address == address)).first()
    if conn is None:
        conn = EmailConnection(tenant_id=current_tenant_id(), address=address, last_uid=0)
        session.add(conn)
    conn.kind, conn.imap_host, conn.imap_port, conn.imap_ssl = "imap", imap_host, imap_port, imap_ssl
    conn.smtp_host, conn.smtp_port, conn.smtp_security = smtp_host, smtp_port, smtp_security
    conn.username, conn.display_name = username, display_name
    conn.secret_sealed = seal(password, SECRET_PURPOSE)
    conn.status, conn.failures, conn.last_error, conn.owner_notified_at = "ok", 0, None, None
    commit(session)
    return conn


def secret(conn: EmailConnection) -> str | None:
    return unseal(conn.secret_sealed, SECRET_PURPOSE)


def disconnect(conn: EmailConnection) -> None:
    conn.secret_sealed = conn.access_sealed = conn.refresh_sealed = None
    conn.status = "disconnected"
    commit(get_session())


def sending_connection() -> EmailConnection | None:
    """The mailbox the shop's email leaves from: the first connected one that can send (Gmail, Microsoft
    365, or a mailbox with an SMTP server)."""
    return next((c for c in connections() if (c.smtp_host is not None or c.kind in ("gmail", "graph"))
                 and c.status != "disconnected"), None)


def shop() -> Shop | None:
    return get_session().get(Shop, current_tenant_id())
