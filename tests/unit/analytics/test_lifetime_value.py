"""The repeat-buying models against the ``lifetimes`` package (0.11.3).

The customers are generated here, deterministically, from the models' own story. The reference
figures are what ``lifetimes`` printed for the same customers: ``BetaGeoFitter(penalizer_coef=0)
.fit(frequency, recency, T)``, ``conditional_expected_number_of_purchases_up_to_time(90, ...)``,
``GammaGammaFitter(penalizer_coef=0).fit`` on the repeat buyers and
``conditional_expected_average_profit``. It is not a dependency: it is no longer maintained and
its optimiser (autograd) breaks with some library versions, so its figures are kept here.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from omnikanal.analytics.clv import Summary, fit


def generated_customers() -> list[tuple[int, float, float, float]]:
    """(x, t_x, T, mean repeat value) of 600 customers drawn from the models' own story: a purchase
    rate from a gamma, a drop-out chance after each purchase from a beta, a spend per purchase from
    a gamma whose scale is the customer's own."""
    rng = random.Random(5)
    out = []
    for _ in range(600):
        rate = rng.gammavariate(0.8, 1 / 12)  # purchases a day
        drop = rng.betavariate(1.2, 3.5)
        scale = 1 / rng.gammavariate(4.0, 1 / 60)  # the customer's spend scale
        horizon = float(rng.randint(60, 365))
        t, days, alive = 0.0, [], True
        while alive:
            t += rng.expovariate(rate)
            if t > horizon:
                break
            days.append(int(t))
            alive = rng.random() >= drop
        distinct = sorted(set(days))
        x = len(distinct)
        spend = [rng.gammavariate(5.0, scale) for _ in range(x)]
        out.append(
            (x, float(distinct[-1]) if distinct else 0.0, horizon, round(sum(spend) / x, 2) if x else 0.0)
        )
    return out


BG_NBD = {"r": 0.829885, "alpha": 12.904844, "a": 1.604802, "b": 4.904032}
PURCHASES_IN_90_DAYS = [0.003595, 0.295797, 0.08056, 0.428738, 0.004632, 1.355176]
GAMMA_GAMMA = {"p": 5.35439, "q": 3.739072, "v": 52.061248}
AVERAGE_VALUE = [107.022972, 101.770319, 130.859776, 69.154717, 118.904766, 53.036063]


def test_the_fits_and_predictions_are_the_lifetimes_packages() -> None:
    customers = [Summary(*c) for c in generated_customers()]
    fitted = fit(customers)
    assert fitted is not None
    bg, gg = fitted.purchases, fitted.spend
    assert {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b} == pytest.approx(BG_NBD, rel=1e-4)
    assert {"p": gg.p, "q": gg.q, "v": gg.v} == pytest.approx(GAMMA_GAMMA, rel=1e-4)
    first = customers[:6]
    x, t_x, T, m = (np.array([getattr(c, f) for c in first]) for f in ("x", "t_x", "T", "monetary"))
    assert list(bg.expected(90, x, t_x, T)) == pytest.approx(PURCHASES_IN_90_DAYS, rel=1e-4)
    assert list(gg.expected(x, m)) == pytest.approx(AVERAGE_VALUE, rel=1e-4)
    values = fitted.values(first, 90)
    assert values == pytest.approx(
        [p * a for p, a in zip(PURCHASES_IN_90_DAYS, AVERAGE_VALUE, strict=True)], rel=1e-3
    )


def test_too_few_customers_are_not_fitted() -> None:
    assert fit([Summary(1, 5, 30, 10.0)] * 5) is None


def test_discounted_value_by_hand_over_two_monthly_steps_on_a_margin() -> None:
    from omnikanal.analytics.clv import BgNbd, Fitted, GammaGamma

    fitted = Fitted(BgNbd(0.8, 30.0, 0.7, 3.0), GammaGamma(6.0, 4.0, 15.0))
    customers = [Summary(3, 80, 100, 50.0), Summary(0, 0, 40, 0.0)]
    x, t_x, t = np.array([3.0, 0.0]), np.array([80.0, 0.0]), np.array([100.0, 40.0])
    n30 = fitted.purchases.expected(30, x, t_x, t)
    n45 = fitted.purchases.expected(45, x, t_x, t)
    spend = np.array([6 * (15 + 3 * 50) / (6 * 3 + 4 - 1), 6 * 15 / (4 - 1)])
    by_hand = (n30 / 1.1 ** (30 / 365) + (n45 - n30) / 1.1 ** (45 / 365)) * spend * 0.35
    assert fitted.discounted(customers, 45, 0.1, 0.35) == pytest.approx(list(by_hand), rel=1e-12)
    # no discount and the whole revenue: the undiscounted value
    assert fitted.discounted(customers, 45, 0.0) == pytest.approx(fitted.values(customers, 45), rel=1e-12)
