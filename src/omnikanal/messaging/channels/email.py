"""Email over SMTP with aiosmtplib: a small pool of reused connections on a loop of its own.

Every message gets a Message-ID derived from its id (a receiver can see a re-send after a crash as
the same message), and marketing mail carries List-Id and the RFC 8058 one-click unsubscribe
headers, which the large mailbox providers require of bulk senders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from omnikanal.messaging.channels import SEND_BUDGET_SECONDS, mime
from omnikanal.messaging.model import Outgoing, PermanentFailure, SendResult, Status, TransientFailure

log = logging.getLogger(__name__)
MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,900}>")  # printable ASCII without < > and space
MAX_REFERENCES = 20


class SmtpConfig:
    def __init__(self, url: str, sender: str, list_id: str, connections: int, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError("OMNIKANAL_SMTP_URL must start with smtp://, smtps:// or smtp+starttls://")
        self.hostname = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls: bool | None = parts.scheme == "smtp+starttls"
        self.sender = sender
        self.list_id = list_id
        self.connections = max(1, connections)
        self.timeout = timeout


def thread_headers(item: Outgoing) -> list[tuple[str, str]]:
    """In-Reply-To and References from ``data["thread"]`` (an answer to a customer's mail), so the
    customer's mail client shows it in their conversation. Only well-formed Message-IDs pass: the
    values come from inbound mail, and a line break in them must never become a header."""
    thread = item.data.get("thread")
    if not isinstance(thread, dict):
        return []
    headers: list[tuple[str, str]] = []
    reply_to = thread.get("in_reply_to")
    if isinstance(reply_to, str) and MESSAGE_ID.fullmatch(reply_to):
        headers.append(("In-Reply-To", reply_to))
    refs = [r for r in thread.get("references") or [] if isinstance(r, str) and MESSAGE_ID.fullmatch(r)]
    if refs:
        headers.append(("References", " ".join(refs[-MAX_REFERENCES:])))
    return headers


def wire_email(item: Outgoing, config: SmtpConfig) -> tuple[bytes, str]:
    """The message as SMTP DATA bytes and its Message-ID; composed directly (``mime``) when the
    addresses are ASCII, through the email package otherwise."""
    domain = parseaddr(config.sender)[1].rpartition("@")[2] or "omnikanal.invalid"
    message_id = f"<{item.message_id}@{domain}>"
    if not mime.is_ascii(config.sender, item.address, config.list_id, item.unsubscribe_url or ""):
        return bytes(build_email(item, config)), message_id
    headers = [
        ("From", config.sender),
        ("To", item.address),
        ("Subject", mime.header_text(item.subject or "")),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", message_id),
        ("X-Omnikanal-Message-Id", item.message_id),
    ]
    # References may be long: folded, one Message-ID a line (a line stays under 998 octets)
    headers += [(n, v.replace(" ", "\r\n ")) for n, v in thread_headers(item)]
    if item.marketing:
        headers.append(("List-Id", config.list_id))
        if item.unsubscribe_url:
            headers.append(("List-Unsubscribe", f"<{item.unsubscribe_url}>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return mime.compose(headers, item.text, item.html), message_id


def build_email(item: Outgoing, config: SmtpConfig) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = item.address
    msg["Subject"] = item.subject or ""
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(config.sender)[1].rpartition("@")[2] or "omnikanal.invalid"
    msg["Message-ID"] = f"<{item.message_id}@{domain}>"
    msg["X-Omnikanal-Message-Id"] = item.message_id
    for name, value in thread_headers(item):
        msg[name] = value
    if item.marketing:
        msg["List-Id"] = config.list_id
        if item.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{item.unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(item.text)
    if item.html:
        msg.add_alternative(item.html, subtype="html")
    return msg


class EmailChannel:
    name = "email"

    def __init__(self, config: SmtpConfig | None) -> None:
        self._config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: asyncio.Queue[aiosmtplib.SMTP] | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self._config is not None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="smtp", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        if self._config is None:
            return [TransientFailure("email is not configured (OMNIKANAL_SMTP_URL)") for _ in batch]
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(self._send_all(list(batch)), SEND_BUDGET_SECONDS), loop
        )
        try:
            return future.result(timeout=SEND_BUDGET_SECONDS + 5)
        except TimeoutError:
            # Some may have gone out: they are sent again later (at least once, same Message-ID).
            return [TransientFailure("SMTP: the batch used up its sending time") for _ in batch]

    async def _send_all(self, batch: list[Outgoing]) -> list[SendResult | Exception]:
        assert self._config is not None
        if self._pool is None:
            self._pool = asyncio.Queue()
            for _ in range(self._config.connections):
                self._pool.put_nowait(self._client())
        results = await asyncio.gather(*(self._send_one(item) for item in batch), return_exceptions=True)
        return [r if isinstance(r, SendResult | Exception) else TransientFailure(repr(r)) for r in results]

    def _client(self) -> aiosmtplib.SMTP:
        config = self._config
        assert config is not None
        return aiosmtplib.SMTP(
            hostname=config.hostname,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.use_tls,
            start_tls=config.start_tls,
            timeout=config.timeout,
        )

    async def _send_one(self, item: Outgoing) -> SendResult:
        assert self._config is not None
        assert self._pool is not None
        message, message_id = wire_email(item, self._config)
        client = await self._pool.get()
        try:
            if not client.is_connected:
                await client.connect()
            await client.sendmail(parseaddr(self._config.sender)[1], [item.address], message)
            return SendResult(provider_id=message_id, status=Status.SENT)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(
                    f"recipient refused: {exc.recipients[0].message}", Status.BOUNCED
                ) from None
            raise TransientFailure(f"recipient deferred: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            if exc.code >= 500:
                raise PermanentFailure(f"SMTP {exc.code}: {exc.message}") from None
            raise TransientFailure(f"SMTP {exc.code}: {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await _reset(client)
            raise TransientFailure(f"SMTP: {type(exc).__name__}: {exc}") from None
        finally:
            self._pool.put_nowait(client)

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def quit_all() -> None:
            while self._pool is not None and not self._pool.empty():
                await _reset(self._pool.get_nowait(), polite=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(quit_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = None
        self._pool = None


async def _reset(client: aiosmtplib.SMTP, polite: bool = False) -> None:
    """Drop a connection that failed (it is opened again for the next message)."""
    if not client.is_connected:
        return
    with contextlib.suppress(Exception):
        if polite:
            await client.quit()
        else:
            client.close()
