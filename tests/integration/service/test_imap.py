"""The support mailbox over IMAP against a real Dovecot, on both engines: a new mail opens a case and
is flagged seen, a reply threads into it, an auto-reply opens nothing, a message fetched again after
a crash stores once, a new UIDVALIDITY reads the unseen mail again, mail can be moved to a folder,
a mailbox another worker reads is left to it, a message the intake keeps failing on is left out
after a few attempts, and a wrong password, a missing folder, refused TLS or a server away are
recorded for operations while the worker goes on."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import pytest
from sqlalchemy import update

from omnikanal.clock import FixedClock
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.hub import Hub, build_hub
from omnikanal.service import mailboxes
from omnikanal.service.imap import ATTEMPTS, MailboxPoller
from omnikanal.service.inbound import Received
from omnikanal.service.tables import service_mailboxes
from omnikanal.settings import Settings
from tests.imap_server import PASSWORD, USER, Dovecot
from tests.integration.messaging.support import SmtpSink, bearer, wait_for


@pytest.fixture
def settings(settings: Settings, dovecot: Dovecot) -> Settings:
    return settings.model_copy(
        update={
            "service_imap_host": "127.0.0.1",
            "service_imap_port": dovecot.port,
            "service_imap_tls": False,
            "service_imap_user": USER,
            "service_imap_password": PASSWORD,
            "service_imap_poll_seconds": 0.0,  # the tests poll themselves
        }
    )


def _mail(sender: str, subject: str, text: str, **headers: str) -> bytes:
    """A message as the support mailbox holds it: with the headers the delivering server added."""
    message = EmailMessage()
    message["Return-Path"] = headers.pop("Return_Path", f"<{sender.split('<')[-1].rstrip('>')}>")
    message["Delivered-To"] = "service@shop.example"
    message["From"] = sender
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("Message_ID", make_msgid(domain="example.net"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def _poller(hub: Hub) -> MailboxPoller:
    assert hub.service.poller is not None
    return hub.service.poller


def _poll(hub: Hub) -> None:
    _poller(hub).run_once()
    assert isinstance(hub.clock, FixedClock)
    hub.clock.advance(timedelta(minutes=1))  # the next mail a minute later (the thread is ordered by time)


def _cases(http: httpx.Client, token: str, **params: str) -> list[dict]:
    response = http.get("/api/service/cases", params={"limit": 50, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


def _status(hub: Hub) -> dict:
    with read_tx(hub.engine) as conn:
        [row] = mailboxes.status(conn)
    return row


def test_a_new_mail_opens_a_case_and_a_reply_threads_into_it(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("Maria Muster <maria@example.net>", "Bohrer defekt", "Er brummt nur."))
    _poll(hub)
    profile = hub.profiles.lookup("email", "maria@example.net")
    [case] = _cases(http, admin_token, profile_id=profile["id"])
    assert (case["channel"], case["queue"], case["subject"], case["entries"]) == (
        "email",
        "email",
        "Bohrer defekt",
        1,
    )
    assert dovecot.flags() == {1: "\\Seen"}

    path = f"/api/service/cases/{case['id']}"
    reply = http.post(f"{path}/replies", json={"text": "Wir tauschen ihn."}, headers=bearer(admin_token))
    assert reply.status_code == 200, reply.text
    hub.dispatcher.run_once()
    [answer] = wait_for(lambda: smtp.to("maria@example.net"))
    # her mail client answers our answer; it lands in the support mailbox
    subject = "AW: " + answer["Subject"]
    dovecot.append(_mail("maria@example.net", subject, "Danke!", In_Reply_To=answer["Message-ID"]))
    _poll(hub)

    [same] = _cases(http, admin_token, profile_id=profile["id"])
    assert same["id"] == case["id"]
    entries = http.get(path, headers=bearer(admin_token)).json()["items"]
    texts = [e["text"] for e in entries if e["kind"] == "inbound"]
    assert texts == ["Er brummt nur.", "Danke!"]
    assert same["status"] == "open"
    status = _status(hub)
    assert (status["last_uid"], status["fetched"], status["last_error"]) == (2, 2, None)
    assert status["last_ok_at"] is not None


def test_an_auto_reply_and_a_bounce_open_nothing_and_are_not_fetched_again(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("bot@example.net", "Abwesenheit", "Bin weg.", Auto_Submitted="auto-replied"))
    dovecot.append(_mail("mailer-daemon@example.net", "Undelivered", "550 no such user", Return_Path="<>"))
    _poll(hub)
    assert _cases(http, admin_token) == []
    assert dovecot.flags() == {1: "\\Seen", 2: "\\Seen"}
    hub.dispatcher.run_once()
    assert smtp.messages == []
    assert _status(hub)["last_uid"] == 2


def test_a_message_fetched_again_after_a_crash_stores_once(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("eve@example.net", "Frage", "Wann kommt das Paket?"))
    _poll(hub)
    # the case was stored, then the worker died before the flag and the position: both are lost
    dovecot.unseen_all()
    with write_tx(hub.engine) as conn:
        conn.execute(update(service_mailboxes).values(uidvalidity=None, last_uid=0))
    _poll(hub)
    [case] = _cases(http, admin_token)
    assert case["entries"] == 1
    assert dovecot.flags() == {1: "\\Seen"}


def test_mail_someone_read_first_is_fetched_and_a_new_uidvalidity_reads_only_the_unseen(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("old@example.net", "Alt", "Schon gelesen."))
    with dovecot.client() as client:  # read in a mail client before the hub ever polled
        client.select("INBOX")
        client.uid("STORE", "1", "+FLAGS.SILENT", "(\\Seen)")
    _poll(hub)  # the first poll reads the unseen mail only: nothing
    assert _cases(http, admin_token) == []
    dovecot.append(_mail("anna@example.net", "Neu", "Gerade gelesen."))
    with dovecot.client() as client:  # a colleague opened it in their mail client before the poll
        client.select("INBOX")
        client.uid("STORE", "2", "+FLAGS.SILENT", "(\\Seen)")
    _poll(hub)  # by UID now: above the last one, read or not
    [case] = _cases(http, admin_token)
    assert case["subject"] == "Neu"
    assert _status(hub)["last_uid"] == 2


def test_fetched_mail_is_moved_to_the_folder_the_settings_name(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    with dovecot.client() as client:
        assert client.create("Erledigt")[0] == "OK"
    poller = MailboxPoller(
        _poller(hub)._intake,
        hub.engine,
        hub.clock.now,
        dataclasses.replace(_poller(hub).config, move_to="Erledigt"),
        0,
    )
    dovecot.append(_mail("paul@example.net", "Rechnung", "Bitte als PDF."))
    poller.run_once()
    assert len(_cases(http, admin_token)) == 1
    assert dovecot.flags("INBOX") == {}
    assert list(dovecot.flags("Erledigt").values()) == ["\\Seen"]


def test_a_wrong_password_is_recorded_and_the_worker_goes_on(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    poller = _poller(hub)
    wrong = MailboxPoller(
        poller._intake, hub.engine, hub.clock.now, dataclasses.replace(poller.config, password="falsch"), 0
    )
    dovecot.append(_mail("ida@example.net", "Hallo", "Text."))
    with caplog.at_level(logging.WARNING, logger="omnikanal.service.imap"):
        assert wrong.run_once() is False  # no exception out of the worker's loop
    assert "AUTHENTICATIONFAILED" in caplog.text
    response = http.get("/api/service/mailboxes", headers=bearer(admin_token))  # what operations see
    assert response.status_code == 200, response.text
    [status] = response.json()["items"]
    assert status["mailbox"] == f"{USER}@127.0.0.1:{dovecot.port}/INBOX"
    assert "AUTHENTICATIONFAILED" in status["last_error"]
    assert status["last_poll_at"] is not None
    assert status["last_ok_at"] is None
    assert _cases(http, admin_token) == []
    assert dovecot.flags() == {1: ""}

    poller.run_once()  # the right password: the mail comes in, the error is cleared
    assert len(_cases(http, admin_token)) == 1
    assert _status(hub)["last_error"] is None


def test_a_message_over_the_size_limit_is_flagged_for_a_person_and_not_fetched(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    config = dataclasses.replace(_poller(hub).config, max_bytes=2_000)
    poller = MailboxPoller(hub.service.intake, hub.engine, hub.clock.now, config, 0)
    dovecot.append(_mail("gross@example.net", "Riesig", "x" * 5_000))
    dovecot.append(_mail("klein@example.net", "Klein", "Kurz."))
    poller.run_once()
    [case] = _cases(http, admin_token)
    assert case["subject"] == "Klein"
    assert {uid: set(flags.split()) for uid, flags in dovecot.flags().items()} == {
        1: {"\\Flagged", "\\Seen"},
        2: {"\\Seen"},
    }
    assert _status(hub)["fetched"] == 1


def test_a_mailbox_another_worker_reads_is_left_to_it(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("zwei@example.net", "Doppelt", "Zwei Worker."))
    key, now = _poller(hub).config.key, hub.clock.now()
    with write_tx(hub.engine) as conn:  # another worker's poll holds the lease
        assert mailboxes.claim(conn, key, now, timedelta(minutes=5)) is not None
    assert _poller(hub).run_once() is False
    assert _cases(http, admin_token) == []
    assert dovecot.flags() == {1: ""}
    with write_tx(hub.engine) as conn:  # its poll is over
        mailboxes.release(conn, key, now, None)
    _poller(hub).run_once()
    assert len(_cases(http, admin_token)) == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"folder": "Gibt-es-nicht"}, "MailboxError: folder Gibt-es-nicht"),
        ({"tls": True}, "SSL"),  # TLS to a server that speaks plaintext on that port
        ({"port": 1}, "ConnectionRefusedError"),  # nobody listens
    ],
    ids=["missing-folder", "tls-refused", "server-away"],
)
def test_a_mailbox_that_cannot_be_read_is_recorded_and_the_worker_goes_on(
    hub: Hub, dovecot: Dovecot, change: dict, expected: str
) -> None:
    config = dataclasses.replace(_poller(hub).config, timeout=10, **change)
    poller = MailboxPoller(hub.service.intake, hub.engine, hub.clock.now, config, 0)
    assert poller.run_once() is False
    with read_tx(hub.engine) as conn:
        [status] = mailboxes.status(conn)
    assert expected in status["last_error"]
    assert status["last_ok_at"] is None


class _BuggyIntake:
    """The hub's intake, with a bug for one message (its subject): what a message the intake cannot
    take meets, whatever the bug."""

    def __init__(self, hub: Hub) -> None:
        self._intake = hub.service.intake

    def receive(self, raw: bytes, recipients: list[str], envelope_sender: str | None = None) -> Received:
        if b"Subject: Kaputt" in raw:
            raise RuntimeError("a bug in the intake")
        return self._intake.receive(raw, recipients, envelope_sender)


def test_a_message_the_intake_keeps_failing_on_is_flagged_and_left_out(
    hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    poller = MailboxPoller(_BuggyIntake(hub), hub.engine, hub.clock.now, _poller(hub).config, 0)
    dovecot.append(_mail("bug@example.net", "Kaputt", "Bricht."))
    dovecot.append(_mail("gut@example.net", "Frage", "Geht."))
    for _ in range(ATTEMPTS):  # tried again on each poll; the mail behind it waits
        with pytest.raises(RuntimeError):
            poller.run_once()
        assert _cases(http, admin_token) == []
    assert _status(hub)["last_error"] == "RuntimeError: a bug in the intake"
    poller.run_once()  # enough: flagged for a person, and the mailbox goes on
    [case] = _cases(http, admin_token)
    assert case["subject"] == "Frage"
    assert {uid: set(flags.split()) for uid, flags in dovecot.flags().items()} == {
        1: {"\\Flagged", "\\Seen"},
        2: {"\\Seen"},
    }
    status = _status(hub)
    assert (status["last_uid"], status["fetched"], status["last_error"]) == (2, 1, None)


@pytest.fixture
def polling_hub(settings: Settings, clock: FixedClock, hub: Hub) -> Iterator[Hub]:
    """A worker beside the test's hub whose poller runs by itself."""
    # no SMTP listener of its own: the worker role has none, and the test's hub holds the port
    values = {"service_imap_poll_seconds": 0.05, "service_smtp_port": None}
    worker = build_hub(settings.model_copy(update=values), clock)
    worker.start(api=False, worker=True)
    yield worker
    worker.close()


def test_the_worker_role_polls_the_mailbox_by_itself(
    polling_hub: Hub, http: httpx.Client, admin_token: str, dovecot: Dovecot
) -> None:
    dovecot.append(_mail("olga@example.net", "Lieferung", "Wo bleibt sie?"))
    [case] = wait_for(lambda: _cases(http, admin_token))
    assert case["subject"] == "Lieferung"
