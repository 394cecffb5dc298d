"""The pure rules of the browser channel: origins, IP truncation, the rate limiter, consent choices."""

from __future__ import annotations

import pytest

from omnikanal.errors import InvalidInput
from omnikanal.ingest.browser import RateLimiter, declined_purposes, truncate_ip, without_declined
from omnikanal.sources.cors import normalise_origin, normalise_origins


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Shop.Example.de", "https://shop.example.de"),
        ("https://shop.example.de:443/", "https://shop.example.de"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_origins_are_written_as_browsers_send_them(given: str, origin: str) -> None:
    assert normalise_origin(given) == origin


@pytest.mark.parametrize(
    "bad",
    ["shop.example.de", "https://shop.example.de/path", "ftp://x.de", "https://", "https://u:p@x.de", "null"],
)
def test_what_is_not_an_origin_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        normalise_origin(bad)
    assert raised.value.field == "allowed_origins"
    assert bad[:20] in raised.value.message


def test_duplicates_go_and_the_count_is_limited() -> None:
    assert normalise_origins(["https://a.de", "https://A.de/"]) == ("https://a.de",)
    with pytest.raises(InvalidInput):
        normalise_origins([f"https://s{n}.de" for n in range(51)])


@pytest.mark.parametrize(
    ("address", "truncated"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not an address", None),
    ],
)
def test_ip_addresses_are_truncated_to_their_network(address: str, truncated: str | None) -> None:
    assert truncate_ip(address) == truncated


def test_the_bucket_allows_a_burst_then_the_rate_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter(rate=2.0, burst=3, max_clients=100)
    assert [limiter.take("s", "a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("s", "a", now=0.0) == pytest.approx(0.5)
    assert limiter.take("s", "b", now=0.0) == 0.0  # another address has its own bucket
    assert limiter.take("t", "a", now=0.0) == 0.0  # and so has another source
    assert limiter.take("s", "a", now=0.5) == 0.0


def test_the_limiter_forgets_full_buckets_when_it_holds_too_many() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    for n in range(100):
        limiter.take("s", f"10.0.0.{n}", now=0.0)
    limiter.take("s", "new", now=10.0)
    assert limiter.take("s", "10.0.0.1", now=10.0) == 0.0
    assert len(limiter._buckets) <= 100


def test_consent_choices_of_both_libraries_name_purposes() -> None:
    segment = {
        "context": {"consent": {"categoryPreferences": {"Analytics": False, "Advertising": False, "x": 1}}}
    }
    rudder = {"context": {"consentManagement": {"deniedConsentIds": ["Personalization"]}}}
    assert declined_purposes(segment) == {"analytics", "marketing"}
    assert declined_purposes(rudder) == {"personalisation"}
    assert declined_purposes({"context": "x"}) == set()


def test_consent_events_and_logins_pass_when_analytics_is_declined() -> None:
    no = {"consent": {"categoryPreferences": {"analytics": False}}}
    items = [
        {"type": "track", "event": "Consent Updated", "context": no},
        {"type": "identify", "context": no},
        {"type": "track", "event": "Product Viewed", "context": no},
        {"type": "page"},
    ]
    kept, positions = without_declined(items)
    assert positions == [0, 1, 3]
    assert kept == [items[0], items[1], items[3]]
