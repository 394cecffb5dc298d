"""The SMTP listener for inbound service mail (aiosmtpd), run by the API role when
``OMNIKANAL_SERVICE_SMTP_PORT`` names a port. A retailer's mail server forwards support mail here.

A mail is answered 250 only after its case (or entry) has committed, so a 250 means it is durable;
a failure answers 451 and the sending server tries again (entries are deduplicated by Message-ID).
Automatic mail (auto-replies, bounces) is accepted and dropped, so the sender does not retry it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller

from .inbound import MailIntake

log = logging.getLogger(__name__)


class _Handler:
    def __init__(self, intake: MailIntake, domains: frozenset[str]) -> None:
        self._intake = intake
        self._domains = domains

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        domain = address.rpartition("@")[2].lower()
        if self._domains and domain not in self._domains:
            return "550 5.7.1 relaying denied: not a service address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        loop = asyncio.get_running_loop()
        try:
            # the intake writes to the database: off the listener's event loop
            received = await loop.run_in_executor(
                None, self._intake.receive, raw, list(envelope.rcpt_tos), envelope.mail_from
            )
        except Exception:
            log.exception("inbound mail failed")
            return "451 4.3.0 temporary failure, try again later"
        if received.outcome == "refused":
            return f"550 5.7.1 {received.reason}"
        return f"250 OK {received.outcome} {received.case_id or ''}".rstrip()


class MailListener:
    def __init__(self, intake: MailIntake, host: str, port: int, max_bytes: int, domains: list[str]) -> None:
        handler = _Handler(intake, frozenset(d.lower().strip() for d in domains if d.strip()))
        self._controller = Controller(
            handler, hostname=host, port=port, data_size_limit=max_bytes, decode_data=False
        )
        self._running = False

    def start(self) -> None:
        if not self._running:
            self._controller.start()
            self._running = True

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False
