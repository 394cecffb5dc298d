"""Fixtures for messaging: a hub on a fixed clock with real SMTP, Twilio-API and webhook peers.

The hub's public URL is the test server's own address, so the links in messages (one-click
unsubscribe, tracked links) and the Twilio status callback reach it.
"""

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
from tests.integration.messaging.support import FakeTwilio, SmtpSink
from tests.live_server import LiveServer

# A Wednesday, 12:00 in Berlin (CEST): inside everybody's sending hours.
START = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    server.start()
    yield server
    server.stop()


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
def extra_settings() -> dict[str, Any]:
    """Settings a test module may override."""
    return {}


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    server_socket: socket.socket,
    smtp: SmtpSink,
    twilio: FakeTwilio,
    extra_settings: dict[str, Any],
) -> Settings:
    port = server_socket.getsockname()[1]
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "auto_migrate": False,
        "public_url": f"http://127.0.0.1:{port}",
        "secret_key": "messaging-test-secret",
        "smtp_url": smtp.url,
        "smtp_from": "Omnikanal Shop <shop@example.org>",
        "twilio_base_url": twilio.url,
        "twilio_account_sid": twilio.sid,
        "twilio_auth_token": twilio.token,
        "twilio_from": "+4930123456",
        "twilio_whatsapp_from": "+4930123457",
        "webhook_allow_private": True,
        "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        # No background dispatcher: it would race the tests' own rounds; they call run_once themselves.
        "messaging_poll_seconds": 0.0,
        "messaging_retry_base_seconds": 10.0,
    }
    values.update(extra_settings)
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
