"""Media spend imported over HTTP and with the CLI, and the returns on it per model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from omnikanal.settings import Settings
from tests.helpers import assert_error, bearer
from tests.integration.analytics.support import World, event, order, refund, since_until

COSTS = """date,source,medium,campaign,cost,currency,clicks,impressions
2026-11-10,google,cpc,spring,35.00,EUR,100,1000
2026-11-11,google,cpc,spring,15.00,EUR,50,500
2026-11-12,newsletter,email,nov,-5,EUR,,
2026-11-12,radio-ffh,radio,autumn,40,USD,,
2026-11-13,radio-ffh,radio,autumn,40,,,
"""


def _story(w: World) -> None:
    url = "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring"
    w.send(
        w.web,
        event("page", "anna", 10, properties={"url": url}),
        event(
            "track",
            "anna",
            5,
            event="Email Clicked",
            context={"campaign": {"name": "nov", "source": "newsletter", "medium": "email"}},
        ),
    )
    # ben has bought before the period: his purchase in it is no acquisition
    w.send(w.app, order("ben", 40, "o0", 10), event("screen", "ben", 3), order("ben", 2.9, "o2", 50))
    w.send(
        w.till,
        order("anna", 4, "o1", 100),
        refund("anna", 2, "o1", 30),
        event("track", "dora", 6, event="Survey Answered", properties={"heard_about": "RADIO"}),
        order("dora", 5.9, "o3", 80),
    )


def _by_key(answer: dict[str, Any], model: str) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in answer["models"][model]}


def test_an_upload_keeps_the_good_rows_names_the_bad_and_returns_are_computed_on_them(world: World) -> None:
    _story(world)
    report = world.post_csv(COSTS)
    assert report["imported"] == 3
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(4, "cost"), (5, "currency")]

    answer = world.get("/api/analytics/returns", dimension="source", **since_until())
    assert answer["cost"] == 90.0
    first = _by_key(answer, "first_touch")
    assert first["google"] | {"cost_from": None} == {
        "key": "google",
        "conversions": 1.0,
        "revenue": 70.0,
        "cost": 50.0,
        "roas": 1.4,
        "roi": 0.4,
        "cost_per_conversion": 50.0,
        "acquisitions": 1.0,
        "acquisition_cost": 50.0,
        "clicks": 150,
        "impressions": 1500,
        "cost_from": None,
    }
    assert first["google"]["cost_from"] == ["import:costs.csv"]
    assert first["radio-ffh"]["roas"] == 2.0
    assert first["radio-ffh"]["roi"] == 1.0
    assert first["radio-ffh"]["acquisition_cost"] == 40.0
    assert (first["(direct)"]["conversions"], first["(direct)"]["acquisitions"]) == (1.0, 0.0)
    last = _by_key(answer, "last_non_direct")
    # the last non-direct touch of anna's path is the newsletter: the search ads earned nothing there
    assert (last["google"]["revenue"], last["google"]["roas"], last["google"]["roi"]) == (0.0, 0.0, -1.0)
    assert last["newsletter"]["cost"] == 0.0
    assert last["newsletter"]["roas"] is None


def test_a_newer_upload_for_the_same_day_and_key_replaces_the_older_figure(world: World) -> None:
    _story(world)
    world.post_csv(COSTS)
    world.post_csv("date,source,medium,campaign,cost\n2026-11-10,google,cpc,spring,20\n", name="fix.csv")
    costs = world.get("/api/analytics/costs", **since_until())["costs"]
    google = {c["date"]: (c["cost"], c["from"]) for c in costs if c["source"] == "google"}
    assert google == {"2026-11-10": (20.0, "import:fix.csv"), "2026-11-11": (15.0, "import:costs.csv")}


def test_a_cost_file_with_wrong_columns_is_refused_naming_them(world: World) -> None:
    headers = {**bearer(world.token), "Content-Type": "text/csv"}
    response = world.http.post("/api/analytics/costs", content="day,amount\n2026-11-10,5\n", headers=headers)
    body = assert_error(response, 400, "invalid_columns", "columns")
    assert "missing date, cost" in body["message"]


def test_the_cli_imports_costs_with_a_progress_bar_and_lists_failed_lines(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "spend.csv"
    file.write_text(COSTS, encoding="utf-8")
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": settings.resolved_database_url(),
        "OMNIKANAL_DATA_DIR": str(settings.data_dir),
        "OMNIKANAL_ANALYTICS_CURRENCY": "EUR",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "omnikanal", "analytics", "import-costs", str(file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # some lines failed
    assert "5 rows: 3 imported, 2 failed" in done.stdout
    assert "importing" in done.stdout
    costs = world.get("/api/analytics/costs", **since_until())["costs"]
    assert {c["from"] for c in costs} == {"import:spend.csv"}
    assert len(costs) == 3
