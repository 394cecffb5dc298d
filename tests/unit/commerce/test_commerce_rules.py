"""Pure rules of commerce: the order state machine, distances, money from events, import rows."""

from __future__ import annotations

import itertools

import pytest

from omnikanal.commerce.importer import flat_row_to_product, read_rows
from omnikanal.commerce.jobs import to_cents
from omnikanal.commerce.model import ORDER_STATUSES, STATUS_EVENTS, TRANSITIONS, transition_error
from omnikanal.commerce.scan import haversine_km
from omnikanal.errors import InvalidInput, OmnikanalError


@pytest.mark.parametrize(
    ("fulfilment", "path"),
    [
        ("click_and_collect", ["placed", "confirmed", "ready_for_pickup", "picked_up", "returned"]),
        ("home_delivery", ["placed", "confirmed", "shipped", "delivered", "returned"]),
        ("ship_from_store", ["placed", "confirmed", "shipped", "returned"]),
        ("home_delivery", ["placed", "cancelled"]),
        ("click_and_collect", ["placed", "confirmed", "ready_for_pickup", "cancelled"]),
    ],
)
def test_legal_paths_through_the_order_state_machine(fulfilment: str, path: list[str]) -> None:
    for current, wanted in itertools.pairwise(path):
        assert transition_error("o-1", fulfilment, current, wanted) is None, (current, wanted)


@pytest.mark.parametrize(
    ("fulfilment", "current", "wanted", "says"),
    [
        ("home_delivery", "placed", "shipped", "allowed next: cancelled, confirmed"),
        (
            "home_delivery",
            "confirmed",
            "ready_for_pickup",
            "a home_delivery order and cannot become ready_for_pickup",
        ),
        ("click_and_collect", "confirmed", "shipped", "a click_and_collect order and cannot become shipped"),
        ("click_and_collect", "picked_up", "cancelled", "allowed next: returned"),
        ("home_delivery", "cancelled", "confirmed", "none, it is final"),
        ("home_delivery", "returned", "shipped", "none, it is final"),
        ("home_delivery", "delivered", "shipped", "allowed next: returned"),
    ],
)
def test_illegal_transitions_say_why(fulfilment: str, current: str, wanted: str, says: str) -> None:
    problem = transition_error("o-1", fulfilment, current, wanted)
    assert problem is not None
    assert says in problem
    assert "o-1" in problem


def test_every_status_has_its_rules_and_its_timeline_event() -> None:
    assert set(TRANSITIONS) == set(ORDER_STATUSES)
    assert set(STATUS_EVENTS) == set(ORDER_STATUSES)
    for targets in TRANSITIONS.values():
        assert targets <= set(ORDER_STATUSES)
    assert STATUS_EVENTS["placed"] == "Order Completed"
    assert STATUS_EVENTS["cancelled"] == "Order Cancelled"
    assert STATUS_EVENTS["returned"] == "Order Refunded"


def test_haversine_distances() -> None:
    berlin, hamburg = (52.5200, 13.4050), (53.5511, 9.9937)
    assert haversine_km(*berlin, *berlin) == 0
    assert 254 < haversine_km(*berlin, *hamburg) < 256
    assert haversine_km(*berlin, *hamburg) == pytest.approx(haversine_km(*hamburg, *berlin))
    assert 20_000 < haversine_km(0, 0, 0, 180) < 20_040  # half the equator


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (129.9, 12990),
        ("19.99", 1999),
        (0, 0),
        (5, 500),
        (0.1 + 0.2, 30),
        (True, None),
        ("lots", None),
        (-1, None),
        (None, None),
        (float("nan"), None),
        (1e20, None),
        ([], None),
    ],
)
def test_money_from_events_as_integer_cents(value: object, cents: int | None) -> None:
    assert to_cents(value) == cents


def test_flat_rows_become_products_with_one_variant() -> None:
    product = flat_row_to_product(
        {
            "product_id": "P1",
            "sku": "P1-S",
            "gtin": " 4006381333931 ",
            "name_de": "Säge",
            "name_en": "",
            "price_web": "4990",
            "price_store": "",
            "currency": "EUR",
            "attributes": '{"teeth": 24}',
        }
    )
    assert product["id"] == "P1"
    assert product["names"] == {"de": "Säge"}
    assert product["attributes"] == {"teeth": 24}
    assert product["variants"] == [
        {
            "sku": "P1-S",
            "gtin": "4006381333931",
            "colour": None,
            "size": None,
            "prices": [{"channel": "web", "amount_cents": 4990, "currency": "EUR"}],
        }
    ]
    for row, field in (
        ({"product_id": "P", "sku": "S", "price_web": "49.90"}, "price_web"),
        ({"product_id": "P", "sku": "S", "attributes": "{"}, "attributes"),
        ({"product_id": "P", "sku": "S", "weight": "1"}, "weight"),
    ):
        with pytest.raises(InvalidInput) as caught:
            flat_row_to_product(row)
        assert caught.value.field == field


def test_csv_rows_are_numbered_as_in_the_file_and_a_missing_column_is_reported() -> None:
    rows = list(read_rows(iter(["product_id,sku\n", "P1,S1\n", "P2,S2,extra\n"]), "csv"))
    assert [n for n, _ in rows] == [2, 3]
    assert isinstance(rows[1][1], OmnikanalError)
    assert rows[1][1].code == "extra_values"
    [(number, problem)] = list(read_rows(iter(["name,sku\n", "x,y\n"]), "csv"))
    assert number == 1
    assert isinstance(problem, OmnikanalError)
    assert problem.field == "product_id"


def test_opening_hours_are_read_in_the_store_s_time_zone() -> None:
    from datetime import UTC, datetime

    from omnikanal.commerce.hours import is_open

    hours = {"mon": [["09:00", "13:00"], ["14:00", "20:00"]], "sat": [["10:00", "16:00"]]}
    monday_0830_utc = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # 09:30 in Berlin (CET)
    assert is_open(hours, "Europe/Berlin", monday_0830_utc) is True
    assert is_open(hours, "Europe/London", monday_0830_utc) is False  # 08:30 in London
    assert is_open(hours, "Europe/Berlin", datetime(2026, 11, 23, 12, 30, tzinfo=UTC)) is False  # lunch
    assert is_open(hours, "Europe/Berlin", datetime(2026, 11, 22, 12, 0, tzinfo=UTC)) is False  # Sunday
    assert is_open(hours, "Europe/Berlin", datetime(2026, 7, 4, 8, 30, tzinfo=UTC)) is True  # CEST Saturday
    assert is_open({}, "Europe/Berlin", monday_0830_utc) is None
