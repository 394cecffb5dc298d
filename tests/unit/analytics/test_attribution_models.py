"""Every attribution model on a small fixture of paths, against values computed by hand.

The paths (days after a start; marketing source in brackets):

* P1: web (google/cpc) day 0, email (newsletter/email) day 5; converts day 10, value 100
* P2: store (direct) day 2; converts day 3, value 50
* P3: web (facebook/social) day 0, app (direct) day 5, store (direct) day 10; converts day 10, value 200
* P4: email (newsletter/email) day 0; does not convert
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.markov import removal_effects
from omnikanal.analytics.model import MODELS, Credit, Options, Path, Touch

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def touch(n: float, channel: str, source: str = "(direct)", medium: str = "(none)") -> Touch:
    return Touch(day(n), channel, source, medium, None)


PATHS = [
    Path("p1", (touch(0, "web", "google", "cpc"), touch(5, "email", "newsletter", "email")), day(10), 100.0),
    Path("p2", (touch(2, "store"),), day(3), 50.0),
    Path("p3", (touch(0, "web", "facebook", "social"), touch(5, "app"), touch(10, "store")), day(10), 200.0),
    Path("p4", (touch(0, "email", "newsletter", "email"),)),
]
OPTIONS = Options(half_life=timedelta(days=5))

EXPECTED: dict[str, dict[str, tuple[float, float]]] = {
    "first_touch": {"web": (2, 300), "store": (1, 50)},
    "last_touch": {"email": (1, 100), "store": (2, 250)},
    "last_non_direct": {"email": (1, 100), "store": (1, 50), "web": (1, 200)},
    "linear": {
        "web": (0.5 + 1 / 3, 50 + 200 / 3),
        "email": (0.5, 50),
        "store": (1 + 1 / 3, 50 + 200 / 3),
        "app": (1 / 3, 200 / 3),
    },
    "position_based": {"web": (0.9, 130), "email": (0.5, 50), "store": (1.4, 130), "app": (0.2, 40)},
    # half-life 5 days: P1's touches are 10 and 5 days old (weights 1/4, 1/2: shares 1/3, 2/3); P3's
    # 10, 5 and 0 days (1/4, 1/2, 1: shares 1/7, 2/7, 4/7)
    "time_decay": {
        "web": (1 / 3 + 1 / 7, 100 / 3 + 200 / 7),
        "email": (2 / 3, 200 / 3),
        "store": (1 + 4 / 7, 50 + 800 / 7),
        "app": (2 / 7, 400 / 7),
    },
    # order 1: P(conversion) = 0.75; without web 0.375, email 0.5, store 0.25, app 0.5, so removal
    # effects 1/2, 1/3, 2/3, 1/3 (sum 11/6) share 3 conversions and 350 of value
    "markov": {
        "web": (9 / 11, 350 * 3 / 11),
        "email": (6 / 11, 350 * 2 / 11),
        "store": (12 / 11, 350 * 4 / 11),
        "app": (6 / 11, 350 * 2 / 11),
    },
    # the sets of channels: P1 {web, email}, P2 {store}, P3 {web, app, store}; each conversion
    # shared equally by its set's members
    "shapley": {
        "web": (0.5 + 1 / 3, 50 + 200 / 3),
        "email": (0.5, 50),
        "store": (1 + 1 / 3, 50 + 200 / 3),
        "app": (1 / 3, 200 / 3),
    },
}


def _plain(credit: dict[str, Credit]) -> dict[str, tuple[float, float]]:
    return {k: (v.conversions, v.value) for k, v in credit.items() if v.conversions}


@pytest.mark.parametrize("model", MODELS)
def test_each_model_credits_the_hand_computed_conversions_and_value(model: str) -> None:
    got = _plain(attribute(PATHS, model, "channel", OPTIONS))
    expected = EXPECTED[model]
    assert got.keys() == expected.keys()
    for key, (conversions, value) in expected.items():
        assert got[key][0] == pytest.approx(conversions, abs=1e-9), key
        assert got[key][1] == pytest.approx(value, abs=1e-9), key


@pytest.mark.parametrize("model", MODELS)
def test_every_model_hands_out_exactly_the_three_conversions_and_their_value(model: str) -> None:
    got = attribute(PATHS, model, "channel", OPTIONS)
    assert sum(c.conversions for c in got.values()) == pytest.approx(3)
    assert sum(c.value for c in got.values()) == pytest.approx(350)


def test_markov_removal_effects_are_those_of_the_whole_chain() -> None:
    effects = removal_effects(PATHS, "channel", 1)
    assert effects == pytest.approx({"web": 0.5, "email": 1 / 3, "store": 2 / 3, "app": 1 / 3})


def test_a_second_order_chain_tells_the_steps_apart_by_what_came_before() -> None:
    # order 2: P(conversion) = 0.75; without web 0.25, email 0.5, store 0.25, app 0.5
    effects = removal_effects(PATHS, "channel", 2)
    assert effects == pytest.approx({"web": 2 / 3, "email": 1 / 3, "store": 2 / 3, "app": 1 / 3})
    got = _plain(attribute(PATHS, "markov", "channel", Options(markov_order=2)))
    expected = {"web": (1, 350 / 3), "email": (0.5, 350 / 6), "store": (1, 350 / 3), "app": (0.5, 350 / 6)}
    assert got.keys() == expected.keys()
    for key, pair in expected.items():
        assert got[key] == pytest.approx(pair), key


def test_last_non_direct_takes_the_last_touch_when_every_touch_was_direct() -> None:
    path = Path("p", (touch(0, "web"), touch(1, "store")), day(2), 10.0)
    assert _plain(attribute([path], "last_non_direct", "channel", OPTIONS)) == {"store": (1, 10)}


def test_the_source_dimension_credits_marketing_sources_rather_than_channels() -> None:
    got = _plain(attribute(PATHS, "first_touch", "source", OPTIONS))
    assert got == {"google": (1, 100), "(direct)": (1, 50), "facebook": (1, 200)}


def test_a_conversion_without_touchpoints_is_credited_to_none() -> None:
    path = Path("p", (), day(1), 30.0)
    assert _plain(attribute([path], "linear", "channel", OPTIONS)) == {"(none)": (1, 30)}
