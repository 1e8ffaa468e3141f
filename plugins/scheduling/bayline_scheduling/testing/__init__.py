"""Test helpers of the scheduling plugin: the fixed clock of its tests, the shop hours they use, and a
real local CalDAV server (Radicale, from PyPI: the ``test`` extra) in a subprocess on a free loopback
port, waited on by its readiness, never by the clock."""
from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
"""Monday 2 March 2026, 11:00 in New York: outside quiet hours."""
HOURS = [{"days": "Mon–Fri", "open": "08:00", "close": "17:00"}, {"days": "Sat", "closed": True},
         {"days": "Sun", "closed": True}]


def utc(*args: int) -> str:
    """``utc(2026, 3, 3, 14, 0)`` → its ISO 8601 text in UTC."""
    return datetime(*args, tzinfo=UTC).isoformat()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RadicaleServer:
    """``python -m radicale`` under ``folder``: htpasswd users (plain, for tests), each owning its own
    collections (``rights = owner_only``), on a free loopback port.

    ``start()`` returns once Radicale has logged "Radicale server ready" and answers an authenticated
    request; a port taken between choosing and binding is retried on another. ``make_calendar(name)``
    creates a calendar of :attr:`user` through the ``caldav`` client and returns its URL."""

    user = "shop"
    password = "correct-horse-caldav"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / "radicale.log"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _config(self) -> Path:
        users = self.folder / "users"
        users.write_text(f"{self.user}:{self.password}\n")
        config = self.folder / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n"
            f"[rights]\ntype = owner_only\n"
            f"[storage]\nfilesystem_folder = {self.folder / 'collections'}\n"
            f"[web]\ntype = none\n"
            f"[logging]\nlevel = info\nmask_passwords = True\n")
        return config

    def _dead(self) -> str | None:
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"radicale exited with {self.proc.returncode}:\n{self.output()[-3000:]}"

    def start(self, attempts: int = 5) -> RadicaleServer:
        from bayline.testing.processes import wait_until

        for attempt in range(attempts):
            self.port = _free_port()
            config = self._config()
            self.proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                         stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: "Radicale server ready" in self.output(), "radicale to be ready",
                           alive=self._dead)
            except AssertionError:
                if "Address already in use" in self.output() and attempt + 1 < attempts:
                    continue  # someone took the port between our choosing and Radicale binding it
                raise
            wait_until(self._answers, "radicale to answer", alive=self._dead)
            return self
        raise AssertionError("radicale found no free port")

    def _answers(self) -> bool:
        try:
            self.client().principal()
        except Exception:
            return False
        return True

    def client(self, password: str | None = None) -> Any:
        import caldav

        return caldav.DAVClient(url=f"{self.url}{self.user}/", username=self.user,
                                password=password or self.password, timeout=60)

    def make_calendar(self, name: str = "staff") -> str:
        cal = self.client().principal().make_calendar(name=name.title(), cal_id=name)
        return str(cal.url)

    def calendar(self, url: str) -> Any:
        return self.client().calendar(url=url)

    def stop(self) -> None:
        from bayline.testing.processes import stop_process

        if self.proc is not None:
            stop_process(self.proc, 60)
