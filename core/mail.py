"""Platform mail (password resets): SMTP in production, a console outbox in development.

Shop-to-customer email is the email plugin's job; this is only for the
platform's own messages to staff.
"""
from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app


def send_platform_mail(to: str, subject: str, body: str) -> None:
    url = current_app.config.get("BAYLINE_SMTP_URL") or ""
    if not url:
        outbox = current_app.extensions.setdefault("bayline.outbox", [])
        outbox.append({"to": to, "subject": subject, "body": body})
        if not current_app.testing:
            print(f"--- mail to {to}: {subject}\n{body}\n---", file=sys.stderr)
        return
    parsed = urlparse(url)
    msg = EmailMessage()
    msg["From"] = current_app.config.get("BAYLINE_MAIL_FROM", f"no-reply@{parsed.hostname}")
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    smtp_cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(parsed.hostname or "localhost", parsed.port or (465 if parsed.scheme == "smtps" else 25)) as smtp:
        if parsed.scheme == "smtp+starttls":
            smtp.starttls()
        if parsed.username:
            smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
        smtp.send_message(msg)
