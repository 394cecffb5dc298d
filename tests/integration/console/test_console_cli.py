"""``omnikanal user ...`` and ``omnikanal demo``, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from omnikanal.hub import Hub
from tests.console_helpers import login
from tests.helpers import wait_processed


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnikanal", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": database_url,
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


def test_user_create_list_disable(cli_env: dict[str, str], hub: Hub, http: httpx.Client) -> None:
    made = run(
        [
            "user",
            "create",
            "--username",
            "Kasse-Mitte",
            "--role",
            "store",
            "--store",
            "berlin-mitte",
            "--password",
            "ein langes passwort",
        ],
        cli_env,
    )
    assert made.returncode == 0, made.stderr
    assert "kasse-mitte (store, store berlin-mitte) created" in made.stdout
    # Without --password the password is asked for (twice), not echoed.
    asked = run(
        ["user", "create", "--username", "eva", "--role", "service"],
        cli_env,
        stdin="geheim-genug-1\ngeheim-genug-1\n",
    )
    assert asked.returncode == 0, asked.stderr
    assert "geheim-genug-1" not in asked.stdout
    listed = run(["user", "list"], cli_env)
    assert "kasse-mitte" in listed.stdout
    assert "berlin-mitte" in listed.stdout
    assert login(http, "eva", "geheim-genug-1").status_code == 303

    assert run(["user", "disable", "eva"], cli_env).returncode == 0
    assert login(http, "eva", "geheim-genug-1").status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "x y", "--role", "admin", "--password", "long enough pw"], "username"),
        (["--username", "anna", "--role", "boss", "--password", "long enough pw"], "role must be one of"),
        (["--username", "anna", "--role", "store", "--password", "long enough pw"], "needs a store"),
        (["--username", "anna", "--role", "admin", "--password", "short"], "at least 10 characters"),
    ],
)
def test_user_create_refuses_bad_input_clearly(
    cli_env: dict[str, str], hub: Hub, args: list[str], message: str
) -> None:
    result = run(["user", "create", *args], cli_env)
    assert result.returncode == 2
    assert message in result.stdout


def test_demo_builds_through_the_api_once_and_prints_the_logins(
    cli_env: dict[str, str], hub: Hub, tmp_path: Path
) -> None:
    first = run(["demo", "--customers", "40", "--port", "0", "--no-serve"], cli_env, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Demo retailer built" in first.stdout
    logins = (tmp_path / "demo-logins.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in logins] == [
        "demo-admin",
        "demo-marketing",
        "demo-service",
        "demo-store",
        "demo-privacy",
    ]
    assert oct((tmp_path / "demo-logins.txt").stat().st_mode & 0o777) == "0o600"
    for line in logins:
        assert line.split("\t")[1] in first.stdout  # printed how to log in
    assert len(hub.segments.all()) == 4
    assert len(hub.commerce.catalogue.locations("store")) == 6
    # The builder's token was only for building.
    assert all(t.revoked_at is not None for t in hub.tokens.list() if t.name == "demo-builder")
    # Management's page has a story: campaigns on the paths, and their media costs.
    since = (hub.clock.now() - timedelta(days=60)).date().isoformat()
    # the demo's last events may still be on their way into the touchpoints, and the columnar copy
    # is refreshed on a schedule: both brought up to date before the engines are compared
    wait_processed(hub)
    # The till's purchases are completed sales in the store that rang them up.
    stores = {x["id"] for x in hub.commerce.catalogue.locations("store")}
    with hub.engine.connect() as conn:
        till_sales = conn.execute(
            text(
                "SELECT channel, fulfilment, fulfilment_location_id, status FROM commerce_orders"
                " WHERE id LIKE 'S-%'"
            )
        ).all()
    assert till_sales, "the demo recorded no till purchase"
    assert {(r.channel, r.fulfilment, r.status) for r in till_sales} == {
        ("store", "buy_in_store", "picked_up")
    }
    assert {r.fulfilment_location_id for r in till_sales} <= stores
    # Call-back tasks are only for callers whose profile holds the number to call back.
    deadline = time.monotonic() + 60  # the tasks are made by the dispatcher, after the demo's requests
    while not (callbacks := hub.messaging.tasks("hotline", None, 100, lambda _: None)):
        assert time.monotonic() < deadline, "the demo made no call-back task"
        hub.dispatcher.run_once()
    for task in callbacks:
        identifiers = hub.profiles.get(task["profile_id"])["identifiers"]
        assert any(x["type"] == "phone" for x in identifiers), task
    _consents_tell_the_truth(hub, 40)
    hub.analytics.refresh()
    q = hub.analytics.ask(model="first_touch", dimension="source", since=since, lookback="P60D")
    answer = hub.analytics.returns(q, "duckdb")
    assert answer == hub.analytics.returns(q, "database")
    keys = {row["key"]: row for row in answer["models"]["first_touch"]}
    assert {"google", "facebook", "radio-ffh", "newsletter"} <= keys.keys()
    assert keys["google"]["cost"] > 0
    assert keys["radio-ffh"]["cost_from"] == ["import:demo-mediaplan.csv"]

    second = run(["demo", "--customers", "40", "--port", "0", "--no-serve"], cli_env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "building skipped" in second.stdout
    assert len(hub.segments.all()) == 4


def _consents_tell_the_truth(hub: Hub, customers: int) -> None:
    """Most newsletter sign-ups clicked the confirmation link the hub mailed them (the double
    opt-in's proof), about a third may get texts, and the newsletter reports opens and clicks only
    of mails it delivered to confirmed subscribers."""
    with hub.engine.connect() as conn:
        states = conn.execute(
            text("SELECT profile_id, purpose, status FROM consent_state WHERE status = 'granted'")
        ).all()
        readers = (
            conn.execute(
                text(
                    "SELECT DISTINCT profile_id FROM events"
                    " WHERE event IN ('Email Opened', 'Email Link Clicked')"
                )
            )
            .scalars()
            .all()
        )
        delivered = conn.execute(
            text("SELECT count(*) FROM events WHERE event = 'Email Delivered'")
        ).scalar_one()
        opened = conn.execute(text("SELECT count(*) FROM events WHERE event = 'Email Opened'")).scalar_one()
    email = [s.profile_id for s in states if s.purpose == "email_marketing"]
    sms = [s.profile_id for s in states if s.purpose == "sms_marketing"]
    assert 0.35 * customers <= len(email) <= 0.85 * customers, len(email)
    assert 0.1 * customers <= len(sms) <= 0.55 * customers, len(sms)
    for profile_id in email[:5]:
        history = hub.consent.consents(profile_id)["history"]
        record = next(r for r in history if r["purpose"] == "email_marketing")
        assert record["source"] == "double_opt_in"
        assert record["proof"]["confirmed_at"]
        assert record["proof"]["user_agent"]
    assert readers, "the newsletter reported no opens"
    assert 0 < opened <= delivered
    for profile_id in readers:
        purposes = hub.consent.consents(profile_id)["purposes"]
        assert purposes["email_marketing"]["status"] == "granted", profile_id
