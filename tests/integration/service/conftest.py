"""Fixtures for service: a hub on a fixed clock with a real SMTP server for its answers (the
messaging sink) and its own inbound SMTP listener on a free port; a throwaway Dovecot for the
IMAP poller."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import Settings
from tests.conftest import IN_CI
from tests.imap_server import DOVECOT, Dovecot
from tests.integration.messaging.support import FakeTwilio, SmtpSink, free_port
from tests.live_server import LiveServer

# A Wednesday, 12:00 in Berlin: inside business hours.
START = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def server_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A real IMAP server of this test's own (Debian's dovecot-imapd; ./dev test installs it)."""
    if not DOVECOT:
        if IN_CI:
            pytest.fail("CI needs dovecot (Debian's dovecot-imapd) for the IMAP tests")
        pytest.skip("no dovecot installed (Debian's dovecot-imapd)")
    server = Dovecot(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def inbound_port() -> int:
    return free_port()


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    server_socket: socket.socket,
    smtp: SmtpSink,
    twilio: FakeTwilio,
    inbound_port: int,
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "auto_migrate": False,
        "public_url": f"http://127.0.0.1:{server_socket.getsockname()[1]}",
        "secret_key": "service-test-secret",
        "smtp_url": smtp.url,
        "smtp_from": "Kundenservice <service@shop.example>",
        # the tests run the dispatcher's rounds themselves
        "messaging_poll_seconds": 0.0,
        "twilio_base_url": twilio.url,
        "twilio_account_sid": twilio.sid,
        "twilio_auth_token": twilio.token,
        "twilio_from": "+4930123456",
        "service_smtp_port": inbound_port,
        "service_smtp_domains": ["shop.example"],
        "service_smtp_max_bytes": 1_000_000,
        # the tests run the SLA watch themselves
        "service_sla_check_seconds": 0.0,
    }
    return Settings(**values)


@pytest.fixture
def hub(settings: Settings, clock: FixedClock) -> Iterator[Hub]:
    built = build_hub(settings, clock)
    built.start()
    yield built
    built.close()


@pytest.fixture
def live_server(hub: Hub, server_socket: socket.socket) -> Iterator[LiveServer]:
    server = LiveServer(hub, server_socket)
    server.start()
    yield server
    server.stop()
