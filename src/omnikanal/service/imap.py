"""Fetching a support mailbox over IMAP, in the worker role: the way in for a retailer whose mail
server cannot forward to the SMTP listener.

Every ``service_imap_poll_seconds`` the poller logs in, opens the folder and hands each new message,
raw, to the same intake the SMTP listener uses (``MailIntake.receive``: threading, auto-replies,
sanitising, attachments); then it flags the message \\Seen, or moves it to ``service_imap_move_to``,
and stores the message's UID as the mailbox's position. "New" is every UID above the stored one,
so mail someone read in their mail client is fetched all the same. When the folder's UIDVALIDITY
is not the stored one (the first poll, or a server that renumbered its UIDs) the poller reads the
folder's UNSEEN messages instead until none is left, then carries on by UID. A crash between storing
a case and flagging its message fetches the message again: the intake knows its Message-ID, and
nothing is stored twice. A message the intake fails on is tried again on the next polls; after
``ATTEMPTS`` failures in a row it is flagged (\\Flagged) for a person and left out, so one broken
message cannot hold up the mailbox. A wrong password, a server that is away or a TLS failure is logged and
recorded on the mailbox's row (``mailboxes.status``), and the next poll tries again; the worker goes on.

The client is the standard library's ``imaplib``: it is maintained with Python itself, needs no
dependency, and polling uses only LOGIN, SELECT and UID SEARCH/FETCH/STORE/MOVE, which it speaks;
IDLE or an asynchronous client would buy nothing for a poll every minute.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any, Protocol

from sqlalchemy import Engine

from omnikanal.background import Periodic
from omnikanal.db.engine import run_write

from . import mailboxes
from .inbound import Received

log = logging.getLogger(__name__)
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
ATTEMPTS = 3  # a message the intake fails on this often in a row is flagged and left out


class Intake(Protocol):
    """Where a raw message goes: ``inbound.MailIntake``, the same as for the SMTP listener."""

    def receive(self, raw: bytes, recipients: list[str], envelope_sender: str | None = None) -> Received: ...


class MailboxError(Exception):
    """The server answered, but not as a mailbox that can be read (no such folder, a refused command)."""


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str = "INBOX"
    move_to: str = ""
    batch: int = 50
    timeout: float = 30.0
    max_bytes: int = 10_000_000  # larger messages are not fetched (the SMTP listener's limit)

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def quoted(name: str) -> str:
    """A folder name as an IMAP quoted string (imaplib sends mailbox names as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def envelope_of(raw: bytes) -> tuple[list[str], str | None]:
    """The recipients (Delivered-To, X-Original-To) and the envelope sender (Return-Path) the
    delivering server wrote into the message, as the SMTP listener would have had them."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    recipients = [str(v) for name in ("Delivered-To", "X-Original-To") for v in headers.get_all(name, [])]
    path = headers.get("Return-Path")
    return recipients, (str(path).strip() if path is not None else None)


class MailboxPoller:
    def __init__(
        self,
        intake: Intake,
        engine: Engine,
        now: Callable[[], datetime],
        config: MailboxConfig,
        interval: float,
    ) -> None:
        self._intake = intake
        self._engine = engine
        self._now = now
        self.config = config
        self._loop = Periodic("service-imap", interval, self.run_once)
        self._caps: frozenset[str] = frozenset()  # of the logged-in connection
        # how long a poll holds the mailbox without a sign of life (renewed after each message)
        self._lease = timedelta(seconds=config.timeout * 4 + 60)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def run_once(self) -> bool:
        """One poll; True when more messages are waiting than one batch took."""
        key, lease = self.config.key, self._lease
        state = run_write(self._engine, lambda conn: mailboxes.claim(conn, key, self._now(), lease))
        if state is None:  # another worker is reading this mailbox
            return False
        error: str | None = None
        try:
            more = self._poll(state)
        except (imaplib.IMAP4.error, OSError, MailboxError) as exc:
            # a wrong password, a server away, a certificate refused: reported, tried again next time
            error = f"{type(exc).__name__}: {_text(exc)}"
            log.warning("IMAP mailbox %s: %s", key, error)
            more = False
        except Exception as exc:  # the database, most likely: the message is fetched again next time
            error = f"{type(exc).__name__}: {_text(exc)}"
            self._release(error)
            raise
        self._release(error)
        return more

    def _release(self, error: str | None) -> None:
        key = self.config.key
        run_write(self._engine, lambda conn: mailboxes.release(conn, key, self._now(), error))

    def _connect(self) -> imaplib.IMAP4:
        c = self.config
        if c.tls:
            context = ssl.create_default_context()
            return imaplib.IMAP4_SSL(c.host, c.port, ssl_context=context, timeout=c.timeout)
        return imaplib.IMAP4(c.host, c.port, timeout=c.timeout)

    def _poll(self, state: Any) -> bool:
        c = self.config
        with self._connect() as client:
            client.login(c.user, c.password)
            self._caps = _capabilities(client)
            typ, data = client.select(quoted(c.folder))
            if typ != "OK":
                raise MailboxError(f"folder {c.folder}: {_text(data)}")
            uidvalidity = _number(client, "UIDVALIDITY")
            if state.uidvalidity is not None and state.uidvalidity == uidvalidity:
                uids = [u for u in _search(client, f"UID {state.last_uid + 1}:*") if u > state.last_uid]
                self._take(client, sorted(uids)[: c.batch], state)
                return len(uids) > c.batch
            # first poll, or the UIDs were renumbered: the unseen mail, until none is left
            uidnext = _number(client, "UIDNEXT")
            uids = sorted(_search(client, "UNSEEN"))
            self._take(client, uids[: c.batch], state)
            if len(uids) > c.batch:
                return True
            last = max([uidnext - 1, *uids]) if uidnext else max(uids, default=0)
            run_write(self._engine, lambda conn: mailboxes.synced(conn, c.key, uidvalidity, last))
            return False

    def _take(self, client: imaplib.IMAP4, uids: list[int], state: Any) -> None:
        """Each message into the intake, then flagged (or moved), then the position after it."""
        key, limit = self.config.key, self.config.max_bytes
        for uid in uids:
            if state.stuck_uid == uid and state.stuck_count >= ATTEMPTS:
                log.error("IMAP mailbox %s: UID %d failed %d times, flagged and left out", key, uid, ATTEMPTS)
                self._left_out(client, uid)
                continue
            size = self._size(client, uid)
            if size is not None and size > limit:
                log.warning("IMAP mailbox %s: UID %d is over %d bytes, flagged and left out", key, uid, limit)
                self._left_out(client, uid)
                continue
            raw = self._fetch(client, uid) if size is not None else None  # None: gone meanwhile
            if raw is not None:
                recipients, sender = envelope_of(raw)
                try:
                    received = self._intake.receive(raw, recipients, sender)
                except Exception:
                    self._stuck(uid)
                    raise
                log.info("IMAP mailbox %s: UID %d %s %s", key, uid, received.outcome, received.case_id or "")
            self._done(client, uid)
            self._advance(uid, 1 if raw is not None else 0)

    def _stuck(self, uid: int) -> None:
        key = self.config.key
        run_write(self._engine, lambda conn: mailboxes.stuck(conn, key, uid))

    def _advance(self, uid: int, fetched: int) -> None:
        key, until = self.config.key, self._now() + self._lease
        run_write(self._engine, lambda conn: mailboxes.advance(conn, key, uid, fetched, until))

    def _left_out(self, client: imaplib.IMAP4, uid: int) -> None:
        """A message the hub does not take: flagged for a person to look at, and read past."""
        self._store(client, uid, "(\\Seen \\Flagged)")
        self._advance(uid, 0)

    @staticmethod
    def _size(client: imaplib.IMAP4, uid: int) -> int | None:
        """The message's size; None when it is gone."""
        typ, data = client.uid("FETCH", str(uid), "(RFC822.SIZE)")
        found = SIZE.search(b" ".join(d for d in data if isinstance(d, bytes))) if typ == "OK" else None
        return int(found.group(1)) if found is not None else None

    @staticmethod
    def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
        """The raw message, without setting \\Seen by the fetch; None when it is gone."""
        typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            raise MailboxError(f"UID {uid}: {_text(data)}")
        return next((part[1] for part in data if isinstance(part, tuple)), None)

    def _done(self, client: imaplib.IMAP4, uid: int) -> None:
        """The message read (\\Seen), and moved when the settings name a folder."""
        target = self.config.move_to
        self._store(client, uid, "(\\Seen)")
        if target:
            typ, data = self._move(client, uid, target)
            if typ != "OK":
                raise MailboxError(f"UID {uid}: {_text(data)}")

    @staticmethod
    def _store(client: imaplib.IMAP4, uid: int, flags: str) -> None:
        typ, data = client.uid("STORE", str(uid), "+FLAGS.SILENT", flags)
        if typ != "OK":
            raise MailboxError(f"UID {uid}: {_text(data)}")

    def _move(self, client: imaplib.IMAP4, uid: int, target: str) -> tuple[str, list[Any]]:
        if "MOVE" in self._caps:
            return client.uid("MOVE", str(uid), quoted(target))
        # no MOVE (RFC 6851): copy, mark the original deleted, expunge it alone if UIDPLUS can
        typ, data = client.uid("COPY", str(uid), quoted(target))
        if typ == "OK":
            typ, data = client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        if typ == "OK" and "UIDPLUS" in self._caps:
            typ, data = client.uid("EXPUNGE", str(uid))
        return typ, data


def _search(client: imaplib.IMAP4, criteria: str) -> list[int]:
    typ, data = client.uid("SEARCH", criteria)
    if typ != "OK":
        raise MailboxError(f"search {criteria}: {_text(data)}")
    return [int(n) for part in data if isinstance(part, bytes) for n in part.split()]


def _capabilities(client: imaplib.IMAP4) -> frozenset[str]:
    """What the server offers after login (often more than imaplib read before it)."""
    typ, data = client.capability()
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace").upper().split()
    return frozenset(words) if typ == "OK" else frozenset(client.capabilities)


def _number(client: imaplib.IMAP4, name: str) -> int:
    """A number of the folder the server sent with SELECT (UIDVALIDITY, UIDNEXT); 0 when none."""
    _, data = client.response(name)
    try:
        return int(data[-1]) if data and data[-1] is not None else 0
    except (TypeError, ValueError):
        return 0


def _text(value: object) -> str:
    """An exception or a server's answer as text (imaplib gives bytes, lists and tuples)."""
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, Exception) and value.args:
        value = value.args[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
