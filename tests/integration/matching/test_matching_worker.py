"""The worker matches new profiles by itself, within seconds, without a command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.settings import Settings
from tests.integration.matching.test_matching import ANNA_CARD, ANNA_SHOP


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auto_migrate=False,
        matching_interval_seconds=0.2,
        worker_poll_seconds=0.1,
    )


def test_the_worker_merges_a_new_loyalty_card_into_the_webshop_customer(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("store-koeln", "store").write_key
    assert http.post(
        "/v1/identify", json={"userId": "u-anna", "traits": ANNA_SHOP}, auth=(shop, "")
    ).is_success
    assert http.post(
        "/v1/identify", json={"anonymousId": "card-9", "traits": ANNA_CARD}, auth=(till, "")
    ).is_success
    headers = {"Authorization": f"Bearer {admin_token}"}
    deadline = time.monotonic() + 30
    while True:
        ids = {
            http.get("/api/profiles/lookup", params=params, headers=headers).json()["id"]
            for params in (
                {"type": "user_id", "value": "u-anna"},
                {"type": "anonymous_id", "value": "card-9"},
            )
        }
        if len(ids) == 1:
            break
        assert time.monotonic() < deadline, "the worker did not merge the card"
        time.sleep(0.2)
    merged = http.get("/api/matching/reviews", params={"status": "merged"}, headers=headers).json()
    assert len(merged["items"]) == 1
    assert merged["items"][0]["probability"] >= 0.99
