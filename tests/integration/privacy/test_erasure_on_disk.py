"""After an erasure the person is gone from the SQLite files as `omnikanal serve` leaves them, while
it runs and after a normal stop: the product empties the WAL, which still held the old pages (the
test reads the files and checkpoints nothing itself)."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from omnikanal.hub import build_hub
from omnikanal.settings import Settings
from tests.helpers import bearer
from tests.serve_process import start_serve

SECRETS = ("+4917198765432", "Wischnewski", "hannelore.wischnewski@example.de", "hw-4711-disk")


def _holding(database: Path) -> dict[str, list[str]]:
    """Which of the files (database, WAL) hold which secrets, read as bytes."""
    found: dict[str, list[str]] = {}
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            content = path.read_bytes()
            hits = [s for s in SECRETS if s.encode() in content]
            if hits:
                found[path.name] = hits
    return found


def test_an_erased_person_is_in_no_database_file_while_serving_and_after_a_stop(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the write-ahead log in a file beside the database is SQLite's")
    setup = build_hub(Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False))
    _, key = setup.sources.create("shop", "web")
    dpo = setup.tokens.create("dpo", "privacy")[1]
    setup.engine.dispose()
    database = Path(database_url.removeprefix("sqlite:///"))

    server = start_serve(database_url, tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            person = {
                "userId": "hw-4711-disk",
                "traits": {
                    "email": "Hannelore.Wischnewski@example.de",
                    "phone": "0171 98765432",
                    "lastName": "Wischnewski",
                },
            }
            assert http.post("/v1/identify", json=person, auth=(key, "")).status_code == 200
            bought = {"userId": "hw-4711-disk", "event": "Order Completed", "properties": {"revenue": 5}}
            assert http.post("/v1/track", json=bought, auth=(key, "")).status_code == 200
            assert _holding(database), "the search finds her before the erasure"
            erased = http.post(
                "/api/privacy/requests",
                json={"type": "erasure", "identifier": {"type": "user_id", "value": "hw-4711-disk"}},
                headers=bearer(dpo),
            )
            assert erased.status_code == 201, erased.text
            assert erased.json()["status"] == "completed"
            assert _holding(database) == {}, "while serving"
    finally:
        code = server.stop()
    assert code in (0, -signal.SIGTERM)  # uvicorn ends by re-raising the signal it handled
    assert _holding(database) == {}, "after a normal stop"
