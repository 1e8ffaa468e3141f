"""A real Dovecot IMAP server (``/usr/sbin/dovecot``, Debian's dovecot-imapd) on a free loopback port,
with its own configuration, a passwd-file of users and maildirs, all in a temporary folder.
Started in the foreground (``-F``) as our child process; ready when it answers the IMAP greeting."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from imapclient import IMAPClient

from bayline.testing.processes import stop_process, wait_until

BINARY = os.environ.get("BAYLINE_TEST_DOVECOT", "/usr/sbin/dovecot")
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
imap_idle_notify_interval = 1 secs
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    return Path(BINARY).exists() or shutil.which("dovecot") is not None


class Dovecot:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.users: dict[str, str] = {}

    def start(self) -> Dovecot:
        os.chmod(self.root, 0o755)  # Dovecot's own users read the passwd-file and config
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:  # Dovecot never gives mail access as root: the maildirs belong to nobody
            import pwd

            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.root / "mail", uid, gid)
        (self.root / "passwd").write_text("")
        conf = self.root / "dovecot.conf"
        conf.write_text(CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid))
        self.proc = subprocess.Popen([BINARY, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "stderr.log", "wb"))
        wait_until(self._greets, "Dovecot's IMAP greeting", alive=self._died)
        return self

    def _died(self) -> str | None:
        if self.proc is not None and self.proc.poll() is not None:
            log = (self.root / "stderr.log").read_text(errors="replace") + self._log()
            return f"dovecot exited {self.proc.returncode}: {log[-2000:]}"
        return None

    def _log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=5) as s:
                return s.recv(200).startswith(b"* OK")
        except OSError:
            return False

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        lines = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items())
        path = self.root / "passwd"
        staged = self.root / "passwd.new"
        staged.write_text(lines)
        # Dovecot re-reads the passwd-file when its mtime changes (whole seconds): make every write a new
        # one, and swap the file in whole so an auth lookup never reads it half-written
        self._mtime = max(getattr(self, "_mtime", 0), int(path.stat().st_mtime)) + 1
        os.utime(staged, (self._mtime, self._mtime))
        os.replace(staged, path)
        # ready when Dovecot's auth process accepts the new password (a busy machine may lag behind)
        wait_until(lambda: self._logs_in(user), f"Dovecot to accept {user}", alive=self._died)

    def _logs_in(self, user: str) -> bool:
        try:
            self.client(user).logout()
        except IMAPClient.Error:
            return False
        return True

    def client(self, user: str) -> IMAPClient:
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=60)
        try:
            imap.login(user, self.users[user])
        except IMAPClient.Error:
            imap.shutdown()  # a refused login leaves no open connection behind
            raise
        return imap

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        imap = self.client(user)
        try:
            imap.append(folder, raw)
        finally:
            imap.logout()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 60)
