"""Turn raw RFC 5322 bytes into what we store: headers, the new text (quoted history stripped by
mail-parser-reply), the HTML sanitised with nh3 (no scripts, no remote resources: trackers and
remote images are dropped) and the attachments. Malformed MIME never raises: Python's email parser
is lenient and records defects, which we keep as notes."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

import nh3

MSGID = re.compile(r"<[^<>\s]+>")
SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Tags kept in sanitised HTML; no img (remote images are trackers; inline cid: images are attachments).
TAGS = {"a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "li", "ol", "p",
        "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul"}


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_addr: str
    from_name: str | None
    to_addrs: list[str]
    sent_at: datetime | None
    text: str
    new_text: str
    quoted: str | None
    html: str | None
    attachments: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def thread_root(self) -> str:
        return (self.references[0] if self.references else self.in_reply_to) or self.message_id

    @property
    def known_ids(self) -> list[str]:
        """Every Message-ID this mail answers: In-Reply-To first, then References newest first."""
        out = [self.in_reply_to] if self.in_reply_to else []
        return out + [r for r in reversed(self.references) if r not in out]


def normalise_subject(subject: str) -> str:
    return re.sub(r"\s+", " ", SUBJECT_PREFIX.sub("", subject or "")).strip().lower()


def _ids(value: Any) -> list[str]:
    return MSGID.findall(str(value or ""))[:50]


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the registry cannot parse: keep its raw text
        raw = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
        return str(raw[0]) if raw else ""
    return str(value or "")


def sanitise_html(html: str) -> str:
    """HTML safe to show in a sandboxed frame: nh3 (ammonia) with a short allow-list, no scripts, styles,
    images or forms; links keep only http(s)/mailto and get ``rel=noopener noreferrer``."""
    return nh3.clean(html, tags=TAGS, attributes={"a": {"href", "title"}, "td": {"colspan", "rowspan"},
                                                  "th": {"colspan", "rowspan"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


def html_to_text(html: str) -> str:
    text = nh3.clean(re.sub(r"(?i)<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", "\n", html), tags=set())
    import html as htmllib

    return re.sub(r"\n{3,}", "\n\n", htmllib.unescape(text)).strip()


def strip_quoted(text: str) -> tuple[str, str | None]:
    """(the new text, the quoted history) with mail-parser-reply; the whole text when it finds nothing."""
    from mailparser_reply import EmailReplyParser

    try:
        latest = EmailReplyParser(languages=["en", "de", "fr", "es", "nl"]).parse_reply(text=text)
    except Exception:
        latest = None
    latest = (latest or "").strip()
    # lines quoted with ">" are history whatever the parser made of them
    latest = "\n".join(line for line in latest.splitlines() if not line.lstrip().startswith(">")).strip()
    if not latest:
        return text.strip(), None
    rest = text.strip()[len(latest):].strip() if text.strip().startswith(latest) else None
    return latest, (rest or None) if latest != text.strip() else None


def _nul_free(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: drop it (and other C0 controls but tab and newlines) everywhere."""
    if isinstance(value, str):
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value)
    if isinstance(value, list):
        return [_nul_free(v) for v in value]
    if isinstance(value, dict):
        return {k: _nul_free(v) for k, v in value.items()}
    return value


def parse(raw: bytes) -> Parsed:
    parsed = _parse(raw)
    for name in ("message_id", "in_reply_to", "references", "subject", "from_addr", "from_name", "to_addrs",
                 "text", "new_text", "quoted", "html", "notes", "headers"):
        setattr(parsed, name, _nul_free(getattr(parsed, name)))
    return parsed


def _parse(raw: bytes) -> Parsed:
    notes: list[str] = []
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    if msg.defects:
        notes.append("malformed message: " + ", ".join(sorted({type(d).__name__ for d in msg.defects}))[:200])
    message_ids = _ids(_header(msg, "Message-ID"))
    message_id = message_ids[0] if message_ids else f"<sha256.{hashlib.sha256(raw).hexdigest()}@bayline.invalid>"
    in_reply = _ids(_header(msg, "In-Reply-To"))
    subject = re.sub(r"\s+", " ", _header(msg, "Subject")).strip()[:500]
    name, addr = parseaddr(_header(msg, "From"))
    to = [a.lower() for _, a in getaddresses([_header(msg, "To"), _header(msg, "Cc")]) if "@" in a]
    try:
        sent_at = parsedate_to_datetime(_header(msg, "Date")) if _header(msg, "Date") else None
    except (TypeError, ValueError):
        sent_at = None
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Part] = []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            notes.append(f"unreadable part ({ctype})")
            continue
        if disposition == "attachment" or (part.get_filename() and ctype not in ("text/plain", "text/html")):
            attachments.append(Part(part.get_filename() or "attachment", ctype, payload))
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            decoded = payload.decode(charset, errors="replace")
        except LookupError:
            decoded = payload.decode("utf-8", errors="replace")
        decoded = decoded.replace("\r\n", "\n").replace("\r", "\n")
        if ctype == "text/plain":
            text_parts.append(decoded)
        elif ctype == "text/html":
            html_parts.append(decoded)
    html = "\n".join(html_parts) or None
    text = "\n".join(text_parts).strip() or (html_to_text(html) if html else "")
    if html and re.search(r"(?i)<\s*(script|iframe|object|embed)|\son\w+\s*=|<\s*img[^>]+src\s*=\s*['\"]?https?:",
                          html):
        notes.append("active content and remote images removed")
    new_text, quoted = strip_quoted(text)
    return Parsed(message_id=message_id[:300], in_reply_to=in_reply[0][:300] if in_reply else None,
                  references=_ids(_header(msg, "References")), subject=subject,
                  from_addr=addr.lower()[:254], from_name=name[:200] or None, to_addrs=to[:50], sent_at=sent_at,
                  text=text, new_text=new_text, quoted=quoted, html=sanitise_html(html) if html else None,
                  attachments=attachments, notes=notes,
                  headers={k.lower(): str(v)[:500] for k, v in msg.raw_items()
                           if k.lower() in ("to", "cc", "delivered-to", "x-original-to")})


def address(addr: str, name: str | None = None) -> str:
    user, _, domain = addr.partition("@")
    return str(Address(display_name=name or "", username=user, domain=domain))
