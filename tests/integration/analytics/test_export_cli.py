"""``omnikanal analytics export`` run as a command on a generated history: every report's CSV holds
the figures the API answers with, and a bad value ends the command naming its option (exit 2)."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from omnikanal.analytics.export import REPORTS
from tests.integration.analytics.support import World, event, order, refund, since_until

SOURCES = (("google", "cpc", "spring"), ("newsletter", "email", "nov"), ("facebook", "social", "winter"))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "omnikanal", "analytics", "export", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def cli_env(world: World) -> dict[str, str]:
    settings = world.hub.settings
    return {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": settings.database_url,
        "OMNIKANAL_DATA_DIR": str(settings.data_dir),
        "COLUMNS": "200",
    }


def _generated(world: World, people: int, seed: int) -> None:
    """Web visits from campaigns, app views, orders on the web and at the till, some returned."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for p in range(people):
        user, days = f"u{p}", rng.uniform(12, 28)
        product = {"sku": f"sku-{p % 4}", "category": rng.choice(("shoes", "coats"))}
        for _ in range(rng.randint(1, 4)):
            days -= rng.uniform(0.1, 3)
            source, medium, campaign = rng.choice(SOURCES)
            url = f"https://shop.example/?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
            items.append((world.web, event("page", user, days, properties={"url": url})))
            if rng.random() < 0.5:
                viewed = event("track", user, days - 0.05, event="Product Viewed", properties=product)
                items.append((world.app, viewed))
        if rng.random() < 0.7:
            revenue = rng.choice((40, 90, 125.5))
            line = {"products": [{**product, "price": revenue}]}
            bought = order(user, days - 0.5, f"o{p}", revenue)
            bought["properties"].update(line)
            items.append((rng.choice((world.web, world.till)), bought))
            if rng.random() < 0.3:
                items.append((world.web, refund(user, days - 1, f"o{p}", 20)))
    for auth in (world.web, world.app, world.till):
        mine = [body for a, body in items if a == auth]
        for start in range(0, len(mine), 100):
            world.send(auth, *mine[start : start + 100])


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _same(written: list[dict[str, str]], answered: list[dict[str, Any]], what: str) -> None:
    """Every field of every row as the API gives it (CSV: lists joined by spaces, none empty)."""
    assert len(written) == len(answered), what
    for row, expected in zip(written, answered, strict=True):
        assert set(row) == set(expected), what
        for name, value in expected.items():
            if isinstance(value, float):
                assert float(row[name]) == pytest.approx(value), (what, name, row)
            elif isinstance(value, list):
                assert row[name] == " ".join(value), (what, name)
            else:
                assert row[name] == ("" if value is None else str(value)), (what, name)


def test_every_report_csv_holds_the_apis_figures(
    world: World, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _generated(world, 40, seed=5)
    world.post_csv(
        "date,source,medium,campaign,cost\n2026-11-01,google,cpc,spring,120\n2026-11-02,facebook,social,winter,40\n"
    )
    period = since_until()
    folder = tmp_path / "reports"
    args = [
        "--output",
        str(folder),
        "--dimension",
        "source",
        "--since",
        period["since"],
        "--until",
        period["until"],
    ]
    done = run(args, cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{r}.csv" for r in REPORTS)
    asked = {**period, "dimension": "source"}

    attribution = world.get("/api/analytics/attribution", model="all", **asked)
    assert attribution["conversions"] > 10
    _same(
        _read(folder / "attribution.csv"),
        [
            {"model": m, "key": r["key"], **r["models"][m]}
            for m in attribution["models"]
            for r in attribution["rows"]
        ],
        "attribution",
    )
    returns = world.get("/api/analytics/returns", **asked)
    expected = [{"model": m, **r} for m, rows in returns["models"].items() for r in rows]
    fields = (
        "model",
        "key",
        "conversions",
        "revenue",
        "cost",
        "roas",
        "roi",
        "cost_per_conversion",
        "cost_from",
    )
    _same(_read(folder / "returns.csv"), [{f: r[f] for f in fields} for r in expected], "returns")
    assert any(r["cost"] for r in expected)  # the imported spend is in it
    customers = world.get("/api/analytics/customers", **period)["groups"]
    _same(_read(folder / "customers.csv"), customers, "customers")
    _same(_read(folder / "paths.csv"), world.get("/api/analytics/paths", limit=100, **asked)["top"], "paths")
    preference = world.get("/api/analytics/omnichannel", **period)["preference"]
    cells = [
        {"category": p["category"], "channel": c, **v} for p in preference for c, v in p["channels"].items()
    ]
    assert cells
    _same(_read(folder / "omnichannel.csv"), cells, "omnichannel")
    _same(_read(folder / "costs.csv"), world.get("/api/analytics/costs", **period)["costs"], "costs")
    _same(
        _read(folder / "own_costs.csv"), world.get("/api/analytics/own-costs", **period)["lines"], "own costs"
    )


def test_one_report_of_one_model_into_a_file(world: World, cli_env: dict[str, str], tmp_path: Path) -> None:
    _generated(world, 15, seed=9)
    target = tmp_path / "linear.csv"
    period = since_until()
    args = ["--report", "attribution", "--model", "linear", "--output", str(target), "--lookback", "P7D"]
    done = run([*args, "--since", period["since"], "--until", period["until"]], cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = world.get("/api/analytics/attribution", model="linear", lookback="P7D", **period)
    _same(_read(target), [{"model": "linear", **r} for r in answer["rows"]], "linear")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--report", "nope"),
        ("--model", "nope"),
        ("--dimension", "colour"),
        ("--since", "yesterday"),
        ("--lookback", "P999D"),
        ("--engine", "excel"),
        ("--conversion", "Never Happened"),
        ("--segment", "seg_nope"),
    ],
)
def test_a_bad_value_names_its_option_and_exits_2(
    world: World, cli_env: dict[str, str], tmp_path: Path, option: str, value: str
) -> None:
    world.send(world.till, order("anna", 2, "o1", 100))
    target = tmp_path / "out.csv"
    report = "omnichannel" if option == "--segment" else "attribution"
    done = run(["--report", report, "--output", str(target), option, value], cli_env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {option}:" in done.stdout
    assert not target.exists()


def test_every_report_needs_a_folder(world: World, cli_env: dict[str, str], tmp_path: Path) -> None:
    world.send(world.till, order("anna", 2, "o1", 100))
    (tmp_path / "taken.csv").write_text("x\n")
    done = run(["--output", str(tmp_path / "taken.csv")], cli_env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: --output: a folder for every report" in done.stdout


def test_the_omnichannel_report_of_a_segment_holds_its_members_figures(
    world: World, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _generated(world, 30, seed=3)
    shoes = {
        "event": {"name": "Product Viewed", "where": [{"key": "category", "op": "eq", "value": "shoes"}]}
    }
    segment = world.hub.segments.create("shoe viewers", None, shoes, "test")
    world.process()
    target, period = tmp_path / "omni.csv", since_until()
    args = ["--report", "omnichannel", "--segment", segment["id"], "--output", str(target)]
    done = run([*args, "--since", period["since"], "--until", period["until"]], cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = world.get("/api/analytics/omnichannel", segment=segment["id"], **period)
    assert answer["segment"]["members"] > 0
    cells = [
        {"category": p["category"], "channel": c, **v}
        for p in answer["preference"]
        for c, v in p["channels"].items()
    ]
    everyone = world.get("/api/analytics/omnichannel", **period)["preference"]
    assert answer["preference"] != everyone  # the segment's figures, not everyone's
    _same(_read(target), cells, "segment")
