"""A throwaway Dovecot (Debian's dovecot-imapd) for the IMAP tests: its own configuration (no system
configuration is read), its own port on 127.0.0.1, plaintext login allowed there, one passwd-file
user and maildir mailboxes of its own, started as a subprocess and stopped after the test. Its
sockets are in a short folder of their own (a Unix socket's path has at most 107 bytes).

It runs as the current user. As root, Dovecot refuses to run its login processes and to open mail
as root, so there the login and internal processes run as the package's own users (dovenull,
dovecot) and the mail as ``nobody``; the server's folder is then one of its own under the system's
temporary folder, which those users can enter (pytest's tmp_path is private to root).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.integration.messaging.support import free_port

DOVECOT = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin") or ""
USER = "support"
PASSWORD = "support-secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service anvil {{
  chroot =
  # no growing delay for a client whose login failed (the wrong-password test logs in right after)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self._own_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="omnikanal-imap-")) if self._own_root else tmp_path / "imap"
        self.run = Path(tempfile.mkdtemp(prefix="okimap-"))
        self._process: subprocess.Popen[bytes] | None = None

    def _users(self) -> dict[str, object]:
        if not self._own_root:
            me = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            return {"internal_user": me, "internal_group": group, "login_user": me,
                    "uid": os.geteuid(), "gid": os.getegid()}  # fmt: skip
        nobody = pwd.getpwnam("nobody")
        return {"internal_user": "dovecot", "internal_group": "dovecot", "login_user": "dovenull",
                "uid": nobody.pw_uid, "gid": nobody.pw_gid}  # fmt: skip

    def start(self) -> None:
        users = self._users()
        (self.root / "mail").mkdir(parents=True, exist_ok=True)
        if self._own_root:
            self.root.chmod(0o755)
            self.run.chmod(0o755)
            os.chown(self.root / "mail", int(str(users["uid"])), int(str(users["gid"])))
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, run=self.run, port=self.port, **users))
        self._process = subprocess.Popen(  # the system's dovecot, our own config
            [DOVECOT, "-c", str(config), "-F"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with imaplib.IMAP4("127.0.0.1", self.port, timeout=5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        out = b""
        if self._process is not None and self._process.poll() is not None and self._process.stdout:
            out = self._process.stdout.read()
        return (path.read_text() if path.exists() else "") + out.decode(errors="replace")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=20)
            if self._process.stdout:
                self._process.stdout.close()
            self._process = None
        shutil.rmtree(self.run, ignore_errors=True)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        """A mail client of the support mailbox, logged in."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """A message arrives in the mailbox (IMAP APPEND, as a delivering server would put it)."""
        with self.client() as client:
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", data

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """Every message's flags in the folder, by UID."""
        with self.client() as client:
            client.select(folder, readonly=True)
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
        found: dict[int, str] = {}
        for part in data:
            if isinstance(part, bytes) and b"UID" in part:
                words = part.decode().replace("(", " ").replace(")", " ").split()
                found[int(words[words.index("UID") + 1])] = " ".join(
                    w
                    for w in words
                    if w.startswith("\\") and w != "\\Recent"  # Recent: per session
                )
        return found

    def unseen_all(self, folder: str = "INBOX") -> None:
        """Every message in the folder unread again (a crash before the poller flagged it)."""
        with self.client() as client:
            client.select(folder)
            typ, data = client.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen)")
            assert typ == "OK", data
