"""Real peers for the messaging tests: an SMTP server (aiosmtpd), a Twilio Messages API and a
webhook receiver (small HTTP servers in threads), all on loopback ports of the test process."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from aiosmtpd.controller import Controller

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.messaging.channels.sms import twilio_signature


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """A real SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, int] = {}  # recipient -> SMTP code to answer at RCPT
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        code = self.refuse.get(address)
        if code is not None:
            return f"{code} {'5.1.1 no such user' if code >= 500 else '4.2.1 try later'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _TwilioHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeTwilio = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        expected = "Basic " + base64.b64encode(f"{fake.sid}:{fake.token}".encode()).decode()
        path_ok = self.path == f"/2010-04-01/Accounts/{fake.sid}/Messages.json"
        if self.headers.get("authorization") != expected or not path_ok:
            self._answer(401, {"code": 20003, "message": "Authenticate"})
            return
        if fake.answer_status is not None:
            self._answer(fake.answer_status, {"code": 21211, "message": "refused by the test"})
            return
        with fake.lock:
            fake.counter += 1
            sid = f"SM{fake.counter:032d}"
            fake.requests.append(form)
        if fake.callback_first and fake.callback_status:  # the report overtakes the answer
            fake.callback(form["StatusCallback"], sid, delay=0)
        self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")})
        if fake.callback_status and not fake.callback_first:
            threading.Thread(target=fake.callback, args=(form["StatusCallback"], sid), daemon=True).start()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeTwilio(_Server):
    """Twilio's Messages API: answers 201 with a sid, then calls the status callback, signed."""

    def __init__(self) -> None:
        super().__init__(_TwilioHandler)
        self.sid = "AC" + "0" * 32
        self.token = "twilio-test-auth-token"
        self.requests: list[dict[str, str]] = []
        self.counter = 0
        self.lock = threading.Lock()
        self.answer_status: int | None = None
        self.callback_status: str | None = "delivered"
        self.callback_answers: list[int] = []
        self.callback_first = False

    def callback(self, url: str, sid: str, delay: float = 0.05) -> None:
        time.sleep(delay)  # after the 201, as Twilio does
        params = {"MessageSid": sid, "MessageStatus": self.callback_status or "", "AccountSid": self.sid}
        signature = twilio_signature(self.token, url, params)
        try:
            answer = httpx.post(
                url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
            ).status_code
        except httpx.HTTPError:  # the test (and its server) may be over already
            answer = -1
        with self.lock:
            self.callback_answers.append(answer)


class _HookHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        with receiver.lock:
            receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


class WebhookReceiver(_Server):
    def __init__(self) -> None:
        super().__init__(_HookHandler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.lock = threading.Lock()


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def customer(hub: Any, user_id: str, **traits: Any) -> str:
    """A customer profile made the way channels make them: an identify event. Returns its id."""
    source = getattr(hub, "_test_shop", None)
    if source is None:
        source, _ = hub.sources.create("test-shop", "web")
        hub._test_shop = source
    result = hub.ingest.ingest(source, [{"type": "identify", "userId": user_id, "traits": traits}])
    assert result.accepted == 1, result.as_dict()
    return str(hub.profiles.lookup("user_id", user_id)["id"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def grant(hub: Any, profile_id: str, purpose: str, channel: str | None = None) -> None:
    """A granted consent in the consent ledger; an email consent as confirmed by double opt-in."""
    proof = {"confirmed_at": hub.clock.now().isoformat(), "test": True}
    change = ConsentChange(purpose=purpose, status=ConsentStatus.GRANTED, channel=channel, proof=proof)
    [stored] = hub.consent.record(profile_id, [change], source="test")
    assert stored["status"] == "granted", stored


# The local SMTP server and webhook receiver as fixtures, shared by the messaging and journey tests.
@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()
