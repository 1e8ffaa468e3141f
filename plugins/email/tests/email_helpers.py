"""Helpers for the email plugin's tests: mail builders, the OAuth approval walk, and reads of the
plugin's rows (a module of its own, not conftest: test modules import it by a unique name)."""
from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from bayline_email import models
from sqlalchemy import func, select

from bayline.testing.plugin import in_tenant

DOMAIN = "in.bayline.test"
VIN = "1HGCM82633A004352"  # a VIN with a valid check digit


def mail(*, frm: str, to: str = "shop@harbor.test", subject: str = "Hello", body: str = "Hi there",
         html: str | None = None, in_reply_to: str | None = None, references: str | None = None,
         message_id: str | None = None, attachments: list[tuple[str, str, bytes]] | None = None,
         cc: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="sender.test")
    msg["Date"] = "Thu, 03 Dec 2026 08:00:00 +0000"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for name, ctype, data in attachments or []:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


def finish_oauth(console, start, callback_prefix: str, verify: Any = True) -> Any:
    """Follow the provider's approval (the owner approves at once) and post the finish page's form."""
    from urllib.parse import urlparse

    import requests

    from bayline.testing.forms import csrf_token

    assert start.status_code == 302, start.data[:500]
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=60, verify=verify)
    assert approved.status_code == 302, approved.text[:500]
    back = approved.headers["Location"]
    assert back.startswith(callback_prefix), back
    url = urlparse(back)
    page = console.get(f"{url.path}?{url.query}")
    assert page.status_code == 200 and b"email-oauth-finish" in page.data, page.data[:500]
    import re

    fields = dict(re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.data))
    data = {k.decode(): v.decode() for k, v in fields.items()}
    data["csrf_token"] = csrf_token(page)
    import html

    return console.post("/plugins/email/oauth/finish", data={k: html.unescape(v) for k, v in data.items()})


def conn_of(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.scalars(select(models.EmailConnection)).one()


def rows(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.scalars(select(models.EmailMessage).order_by(models.EmailMessage.id)).all()


def count(app, shop):
    with in_tenant(app, shop.id) as session:
        return session.scalar(select(func.count(models.EmailMessage.id)))
