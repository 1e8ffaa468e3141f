"""An SMTP receiver (aiosmtpd) standing in for the shop's outgoing mail server: it requires a login
(AUTH PLAIN/LOGIN over plain text, as on loopback), and keeps every message it accepted."""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .dovecot import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]


class SmtpReceiver:
    def __init__(self, username: str = "shop@harbor.test", password: str = "smtp-pass-1") -> None:
        self.username, self.password = username, password
        self.port = free_port()
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        with warnings.catch_warnings():  # AUTH without TLS: on loopback only, like a dev mail server
            warnings.simplefilter("ignore", UserWarning)
            self.controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self._auth,
                                         auth_require_tls=False, auth_required=True)

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == self.username \
            and data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
        return "250 OK"

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
