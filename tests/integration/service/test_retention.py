"""Retention of closed cases on both engines: past their days, closed cases are anonymised (the
figures keep counting them) or deleted; open cases and recently closed ones stay."""

from __future__ import annotations

from datetime import timedelta

import httpx

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from omnikanal.service.retention import ANONYMOUS, Retention
from tests.integration.messaging.support import bearer, customer


def _closed(http: httpx.Client, token: str, pid: str, subject: str) -> str:
    case = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": subject, "body": "Meine IBAN ist ..."},
        headers=bearer(token),
    ).json()
    http.post(f"/api/service/cases/{case['id']}/replies", json={"text": "Erledigt"}, headers=bearer(token))
    assert (
        http.post(
            f"/api/service/cases/{case['id']}/status", json={"status": "closed"}, headers=bearer(token)
        ).status_code
        == 200
    )
    return str(case["id"])


def test_closed_cases_are_anonymised_or_deleted_after_their_days(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    clock = hub.clock
    assert isinstance(clock, FixedClock)
    pid = customer(hub, "u-alt", email="alt@example.org")
    old = _closed(http, admin_token, pid, "Alte Sache")
    clock.advance(timedelta(days=20))
    recent = _closed(http, admin_token, pid, "Neuere Sache")
    still_open = http.post(
        "/api/service/cases", json={"profile_id": pid, "subject": "Offen"}, headers=bearer(admin_token)
    ).json()["id"]
    clock.advance(timedelta(days=15))  # the old one closed 35 days ago, the recent one 15

    anonymise = Retention(hub.service.desk, 30, "anonymise", 0, 100)
    assert anonymise.run_once() is False
    mine = {
        c["id"]
        for c in http.get(
            "/api/service/cases", params={"profile_id": pid}, headers=bearer(admin_token)
        ).json()["items"]
    }
    assert mine == {recent, still_open}
    gone = hub.service.desk.get(old)
    assert (gone["profile_id"], gone["subject"]) == (ANONYMOUS, "-")
    assert all(e["text"] is None for e in gone["items"])
    assert gone["first_response_at"] is not None  # what the figures count stays
    figures = http.get(
        "/api/service/figures", params={"since": "2026-11-01T00:00:00Z"}, headers=bearer(admin_token)
    ).json()
    assert figures["all"]["cases"] == 3  # the anonymised case still counts

    clock.advance(timedelta(days=30))
    delete = Retention(hub.service.desk, 30, "delete", 0, 100)
    delete.run_once()
    mine = {
        c["id"]
        for c in http.get(
            "/api/service/cases", params={"profile_id": pid}, headers=bearer(admin_token)
        ).json()["items"]
    }
    assert mine == {still_open}
    assert http.get(f"/api/service/cases/{recent}", headers=bearer(admin_token)).status_code == 404
    assert Retention(hub.service.desk, 0, "delete", 0, 100).run_once() is False  # 0 days: off
