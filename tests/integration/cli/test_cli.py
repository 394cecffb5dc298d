"""The omnikanal command, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.profiles.service import TimelineQuery


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnikanal", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": database_url,
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


def test_source_create_prints_the_write_key_alone_on_the_last_line(
    cli_env: dict[str, str], hub: Hub, http: httpx.Client
) -> None:
    out = run(["source", "create", "--name", "tills", "--channel", "pos"], cli_env).stdout
    key = out.strip().splitlines()[-1]
    assert key.startswith("wk_")
    assert " " not in key
    r = http.post("/v1/track", json={"userId": "u", "event": "Purchase"}, auth=(key, ""))
    assert r.status_code == 200, r.text
    assert hub.profiles.lookup("user_id", "u")["computed"]["channels_used"] == ["pos"]
    assert "tills" in run(["source", "list"], cli_env).stdout

    rotated = run(["source", "rotate-key", "tills"], cli_env).stdout.strip().splitlines()[-1]
    assert rotated != key
    assert rotated.startswith("wk_")
    run(["source", "disable", "tills"], cli_env)
    assert hub.sources.get("tills").enabled is False


def test_source_browser_lists_origins_and_sets_the_ip_policy(cli_env: dict[str, str], hub: Hub) -> None:
    run(
        ["source", "create", "--name", "shop", "--channel", "web", "--origin", "https://Shop.example.de"],
        cli_env,
    )
    made = hub.sources.get("shop")
    assert (made.allowed_origins, made.public, made.ip_policy) == (
        ("https://shop.example.de",),
        True,
        "truncate",
    )
    shown = run(["source", "browser", "shop"], cli_env).stdout
    assert "https://shop.example.de" in shown
    run(
        [
            "source",
            "browser",
            "shop",
            "--origin",
            "http://localhost:3000",
            "--origin",
            "https://m.example.de",
            "--ip-policy",
            "drop",
        ],
        cli_env,
    )
    changed = hub.sources.get("shop")
    assert changed.allowed_origins == ("http://localhost:3000", "https://m.example.de")
    assert changed.ip_policy == "drop"
    run(["source", "browser", "shop", "--no-origins", "--not-public"], cli_env)
    assert (hub.sources.get("shop").allowed_origins, hub.sources.get("shop").public) == ((), False)
    bad = run(["source", "browser", "shop", "--origin", "shop.example.de"], cli_env, check=False)
    assert bad.returncode == 2
    assert "is not an origin" in bad.stdout


def test_token_create_list_revoke(cli_env: dict[str, str], hub: Hub) -> None:
    token = (
        run(["token", "create", "--name", "hotline-tool", "--role", "service"], cli_env)
        .stdout.strip()
        .splitlines()[-1]
    )
    principal = hub.tokens.authenticate(token)
    assert (principal.name, principal.role) == ("hotline-tool", "service")
    assert "hotline-tool" in run(["token", "list"], cli_env).stdout
    run(["token", "revoke", "hotline-tool"], cli_env)
    assert any(t.revoked_at is not None for t in hub.tokens.list())


def test_bad_arguments_get_a_clear_message_and_a_non_zero_exit(cli_env: dict[str, str], hub: Hub) -> None:
    result = run(["source", "create", "--name", "x", "--channel", "fax"], cli_env, check=False)
    assert result.returncode == 2
    assert "channel must be one of" in result.stdout
    result = run(["token", "create", "--name", "x", "--role", "king"], cli_env, check=False)
    assert result.returncode == 2
    assert "role must be one of" in result.stdout


def test_token_create_refuses_a_store_token_without_its_store(cli_env: dict[str, str], hub: Hub) -> None:
    result = run(["token", "create", "--name", "till", "--role", "store"], cli_env, check=False)
    assert result.returncode == 2
    assert "needs a store" in result.stdout
    assert hub.tokens.list() == []
    made = run(["token", "create", "--name", "till", "--role", "store", "--store", "store-mitte"], cli_env)
    assert hub.tokens.authenticate(made.stdout.strip().splitlines()[-1]).store_id == "store-mitte"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["migrate"],
        ["source"],
        ["source", "create"],
        ["source", "rotate-key"],
        ["token", "create"],
        ["token", "revoke"],
    ],
)
def test_every_command_has_help(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    result = run([*args, "--help"], env)
    assert "Usage:" in result.stdout


def test_retention_run_reports_what_it_removed(cli_env: dict[str, str], hub: Hub) -> None:
    shop = hub.sources.create("shop", "web")[0]
    hub.ingest.ingest(
        shop,
        [
            {"type": "page", "userId": "u-old", "name": "Start", "timestamp": "2020-01-01T10:00:00Z"},
            {"type": "page", "userId": "u-old", "name": "Start"},
        ],
    )
    out = run(["retention", "run"], {**cli_env, "OMNIKANAL_RETENTION_DAYS": '{"type:page": 30}'}).stdout
    assert "events (type:page): 1 removed" in out
    assert "anonymous profiles: 0 removed" in out
    remaining = hub.profiles.timeline(hub.profiles.lookup("user_id", "u-old")["id"], TimelineQuery())[
        "events"
    ]
    assert [e["type"] for e in remaining] == ["page"]  # the recent page view stays
