"""The demo retailer's data: valid GTINs, colour variants, deterministic journeys with duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

from omnikanal.commerce.gtin import check_digit
from omnikanal.demo.data import catalogue, locations
from omnikanal.demo.journeys import SOURCES, build

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_variant_has_a_valid_unique_ean13_and_colour() -> None:
    variants = [v for p in catalogue() for v in p["variants"]]
    gtins = [v["gtin"] for v in variants]
    assert len(set(gtins)) == len(gtins)
    for gtin in gtins:
        assert len(gtin) == 13
        assert gtin[-1] == str(check_digit(gtin[:-1]))
    assert all(v["colour"] for v in variants)
    assert any(len(p["variants"]) > 1 for p in catalogue())


def test_stores_have_opening_hours_in_several_cities() -> None:
    stores = [x for x in locations() if x["kind"] == "store"]
    assert len({s["address"]["city"] for s in stores}) >= 5
    assert all(s["opening_hours"]["sat"] for s in stores)


def test_the_same_seed_gives_the_same_journeys_and_another_seed_others() -> None:
    first, again, other = build(7, 200, NOW), build(7, 200, NOW), build(8, 200, NOW)
    assert first.events == again.events
    assert first.events != other.events
    assert set(first.events) == set(SOURCES)


def test_journeys_cross_channels_with_duplicates_and_typos() -> None:
    journeys = build(7, 2000, NOW)
    emails = {p.email for p in journeys.people}
    till_emails = {e["traits"]["email"] for e in journeys.events["demo-kasse"] if e["type"] == "identify"}
    assert till_emails - emails, "no mistyped email at the till"
    hotline_only_phone = [
        e for e in journeys.events["demo-hotline"] if e["type"] == "identify" and "email" not in e["traits"]
    ]
    assert hotline_only_phone, "no hotline caller known only by phone"
    for calls in journeys.events.values():
        assert all(e["timestamp"] < "2026-11-23T12:00" for e in calls)
        assert len({e["messageId"] for e in calls}) == len(calls)
