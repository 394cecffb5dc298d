"""The trained shop most recommendation tests start from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from tests.helpers import lookup
from tests.recommend_helpers import consent, crowd, now, settle, shop_with_stock, track


def _send(http: httpx.Client, key: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 100):
        response = http.post("/v1/batch", json={"batch": events[start : start + 100]}, auth=(key, ""))
        assert response.status_code == 200, response.text


@pytest.fixture
def trained(hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any) -> dict[str, str]:
    """The crowd's history, a driller who viewed the drill on the web and scanned the case in store
    (with consent), the same history without consent; the model trained."""
    shop_with_stock(http, admin_token)
    web = make_channel("webshop", "web").write_key
    store = make_channel("store-app", "store").write_key
    start = now() - timedelta(days=20)
    _send(http, web, crowd(start))
    for user in ("anna", "bert"):
        _send(http, web, [track(user, "Product Viewed", "DRILL", start + timedelta(days=5))])
        _send(
            http,
            store,
            [track(user, "Product Scanned", "CASE", start + timedelta(days=6), store_id="store-mitte")],
        )
    _send(
        http, web, [track("anna", "Order Completed", "DRILL", start + timedelta(days=7), order_id="o-anna")]
    )
    settle(hub)
    anna = str(lookup(http, admin_token, "user_id", "anna")["id"])
    bert = str(lookup(http, admin_token, "user_id", "bert")["id"])
    consent(hub, anna)
    model = hub.recommend.train()
    assert model["figures"]["customers"] == 32
    return {"anna": anna, "bert": bert}
