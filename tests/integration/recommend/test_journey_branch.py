"""A journey branches on what the hub would recommend to the customer: personal suggestions only
with personalisation consent, by SKU or by category, and a bad rule is refused by its pointer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnikanal.errors import InvalidInput
from omnikanal.hub import Hub
from tests.commerce_helpers import put
from tests.recommend_helpers import product


def _journey(hub: Hub, rule: dict[str, Any]) -> str:
    document = {
        "name": f"Empfehlung {sorted(rule.items())}",
        "trigger": {"api": {}},
        "steps": [
            {"id": "ask", "branch": {"if": {"recommended": rule}, "then": "fits", "else": "other"}},
            {"id": "fits", "exit": {"reason": "fits"}},
            {"id": "other", "exit": {"reason": "other"}},
        ],
    }
    journey_id = str(hub.journeys.create(document, "test")["id"])
    hub.journeys.set_status(journey_id, "active")
    return journey_id


def _taken(hub: Hub, journey_id: str, profile_id: str) -> str:
    entered = hub.journeys.enter(journey_id, profile_id, None, {}, "test")
    assert entered["entered"], entered
    steps = hub.journeys.run_steps(str(entered["run_id"]))
    return next(str(s["outcome"]) for s in steps if s["step"] == "ask")


def test_a_personal_branch_sees_the_drillers_case_and_not_the_customer_without_consent(
    hub: Hub, trained: dict[str, str]
) -> None:
    personal = _journey(hub, {"sku": "CASE-1", "personal": True, "top": 5})
    assert _taken(hub, personal, trained["anna"]) == "then"
    # the same history without personalisation consent: no personal suggestion, so no
    assert _taken(hub, personal, trained["bert"]) == "else"
    # a product the driller's history does not point to is not among her personal suggestions
    paint = _journey(hub, {"sku": "PAINT-1", "personal": True})
    assert _taken(hub, paint, trained["anna"]) == "else"


def test_a_branch_by_category_looks_at_the_products_category(
    hub: Hub, http: httpx.Client, admin_token: str, trained: dict[str, str]
) -> None:
    put(
        http,
        admin_token,
        "/api/commerce/categories/bohren",
        {"id": "bohren", "names": {"de": "Bohren", "en": "Drilling"}},
    )
    put(
        http,
        admin_token,
        "/api/commerce/products/CASE",
        {**product("CASE", "Bohrer-Koffer", 20), "category_id": "bohren"},
    )
    hub.recommend._catalogue = None  # the test does not wait out the catalogue cache
    drilling = _journey(hub, {"category": "bohren", "personal": True, "top": 5})
    assert _taken(hub, drilling, trained["anna"]) == "then"
    assert _taken(hub, drilling, trained["bert"]) == "else"
    garden = _journey(hub, {"category": "garten", "top": 10})
    assert _taken(hub, garden, trained["anna"]) == "else"


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({}, "/steps/0/branch/if/recommended"),
        ({"sku": "CASE-1", "top": 0}, "/steps/0/branch/if/recommended/top"),
        ({"sku": "CASE-1", "available": "store"}, "/steps/0/branch/if/recommended/store"),
        ({"sku": "CASE-1", "available": "moon"}, "/steps/0/branch/if/recommended/available"),
        ({"sku": "CASE-1", "colour": "red"}, "/steps/0/branch/if/recommended/colour"),
        ({"category": ""}, "/steps/0/branch/if/recommended/category"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_place(hub: Hub, rule: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _journey(hub, rule)
    assert refused.value.field == pointer, refused.value.message
