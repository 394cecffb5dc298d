"""Personal data export and erasure of messaging; statistics; profile message lists."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from omnikanal.db.engine import run_write
from omnikanal.hub import Hub
from omnikanal.messaging.privacy import MessagingPersonalData
from omnikanal.messaging.service import SendRequest
from omnikanal.messaging.tables import message_statuses, messages, staff_tasks
from omnikanal.privacy.model import RequestType
from tests.integration.messaging.support import SmtpSink, bearer, customer, grant
from tests.integration.messaging.test_email import NEWSLETTER, save, send


def test_export_and_erase_cover_messages_history_and_tasks(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    pid = customer(hub, "u-priv", email="priv@example.org", firstName="Pia")
    other = customer(hub, "u-keep", email="keep@example.org")
    for profile in (pid, other):
        send(
            http,
            admin_token,
            profile_id=profile,
            channel="email",
            transactional=True,
            content={"subject": "Hallo {{ traits.firstName }}", "text": "t"},
        )
        send(
            http,
            admin_token,
            profile_id=profile,
            channel="task",
            transactional=True,
            content={"text": "Anrufen"},
        )
    registry = MessagingPersonalData()
    assert registry.name == "messaging"

    exported = run_write(hub.engine, lambda conn: registry.export(conn, [pid]))
    assert {m["channel"] for m in exported["messages"]} == {"email", "task"}
    email = next(m for m in exported["messages"] if m["channel"] == "email")
    assert email["address"] == "priv@example.org"
    assert email["content"]["subject"] == "Hallo Pia"
    assert [h["status"] for h in email["history"]] == ["queued", "sent"]
    assert [t["body"] for t in exported["tasks"]] == ["Anrufen"]

    removed = run_write(hub.engine, lambda conn: registry.erase(conn, [pid]))
    assert removed > 0
    with hub.engine.connect() as conn:
        for table in (messages, message_statuses, staff_tasks):
            assert conn.execute(select(func.count()).where(table.c.profile_id == pid)).scalar_one() == 0
            assert conn.execute(select(func.count()).where(table.c.profile_id == other)).scalar_one() > 0


def test_stats_per_channel_and_template_and_a_profiles_messages(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    save(http, admin_token, NEWSLETTER)
    yes = customer(hub, "u-s1", email="s1@example.org")
    no = customer(hub, "u-s2", email="s2@example.org")
    grant(hub, yes, "email_marketing", "email")
    send(http, admin_token, profile_id=yes, channel="email", template="newsletter", data={"offer": "a"})
    send(http, admin_token, profile_id=no, channel="email", template="newsletter", data={"offer": "a"})
    stats = http.get("/api/messaging/stats", headers=bearer(admin_token)).json()
    [email] = stats["channels"]
    assert email["channel"] == "email"
    assert email["statuses"] == {"queued": 2, "sent": 1, "blocked": 1}
    assert email["sent"] == 1
    [template] = stats["templates"]
    assert template["template"] == "newsletter"
    assert template["statuses"]["blocked"] == 1

    listed = http.get(f"/api/profiles/{yes}/messages", headers=bearer(admin_token))
    assert listed.status_code == 200
    assert [m["status"] for m in listed.json()["messages"]] == ["sent"]
    assert http.get("/api/profiles/prof_nope/messages", headers=bearer(admin_token)).status_code == 404


def test_an_erasure_request_removes_messaging_data_and_blocks_queued_messages(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-erase", email="erase@example.org")
    send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "s", "text": "t"},
    )
    later = SendRequest(
        profile_id=pid, channel="email", transactional=True, content={"subject": "s", "text": "later"}
    )
    run_write(hub.engine, lambda conn: hub.messaging.enqueue(conn, later))
    exported = hub.privacy.run(
        hub.privacy.file(RequestType.EXPORT, profile_id=pid, origin="test", requested_by="dpo")["id"],
        "dpo",
        may_erase=True,
    )
    assert "messaging" in exported["result"]["parts"]
    request = hub.privacy.file(RequestType.ERASURE, profile_id=pid, origin="test", requested_by="dpo")
    done = hub.privacy.run(request["id"], "dpo", may_erase=True)
    assert done["result"]["removed"]["messaging"] >= 4
    assert hub.dispatcher.run_once() == 0  # the queued message went with the person
    assert len(smtp.to("erase@example.org")) == 1
    with hub.engine.connect() as conn:
        for table in (messages, message_statuses, staff_tasks):
            assert conn.execute(select(func.count()).where(table.c.profile_id == pid)).scalar_one() == 0
