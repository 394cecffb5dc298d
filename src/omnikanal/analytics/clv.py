"""Customer lifetime value from repeat buying: the BG/NBD model of how often a customer buys and
when they drop out (Fader, Hardie and Lee, "Counting Your Customers the Easy Way", 2005) and the
Gamma-Gamma model of what they spend per purchase (Fader, Hardie and Lee, "RFM and CLV", 2005),
fitted by maximum likelihood over every customer's history (pure: no I/O).

A customer is summarised as in the papers: ``x`` repeat purchases (days with a purchase after the
first one), ``t_x`` the days from the first to the last purchase, ``T`` the days from the first
purchase to the end of the period, and the mean value of the repeat purchases. The expected value
over a horizon is the expected number of purchases in it times the expected value of one
purchase (undiscounted); ``Fitted.discounted`` gives it at today's worth (an annual discount rate)
and on a gross margin.

The likelihoods and predictions are the papers'; the test holds them to what the ``lifetimes``
package (0.11.3) fits and predicts on generated customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

# the fewest customers, and of them repeat buyers, that a fit is attempted on
MIN_CUSTOMERS = 20
MIN_REPEATERS = 10
# discounting: the horizon is cut into steps of a month, each discounted from its end
STEP_DAYS = 30.0
YEAR_DAYS = 365.0


@dataclass(frozen=True, slots=True)
class Summary:
    x: float  # repeat purchases
    t_x: float  # days from the first to the last purchase
    T: float  # days from the first purchase to the end of the period
    monetary: float  # mean value of the repeat purchases (0 without any)


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def expected(self, horizon: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Expected purchases in the next ``horizon`` days of customers (x, t_x, T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + T + horizon)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        alive = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return np.asarray(first * second / alive)


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected(self, x: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """Expected value of a purchase of customers with x repeat purchases of this mean value
        (the population's mean for those without any)."""
        p, q, v = self.p, self.q, self.v
        return np.asarray((p * (v + x * monetary)) / (p * x + q - 1))


def _bgnbd_nll(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    r, alpha, a, b = np.exp(log_params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    one = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        two = np.where(
            x > 0,
            betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    # the mean, not the sum: the optimiser's tolerance is then the same for any number of customers
    return float(-np.mean(head + np.logaddexp(one, two)))


def _gg_nll(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    p, q, v = np.exp(log_params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(v + m * x)
    )
    return float(-np.mean(ll))


def _fit(nll: object, start: np.ndarray, args: tuple[np.ndarray, ...]) -> np.ndarray:
    result = minimize(
        nll,
        start,
        args=args,
        method="Nelder-Mead",
        # bounded (e^-10 to e^10): data that holds no heterogeneity (every purchase of a customer
        # worth the same) sends a parameter to infinity, and the search must stop somewhere
        bounds=[(-10.0, 10.0)] * len(start),
        options={"maxiter": 5_000, "xatol": 1e-7, "fatol": 1e-12},
    )
    return np.asarray(np.exp(result.x))


def fit_bgnbd(customers: Sequence[Summary]) -> BgNbd:
    x, t_x, T = (np.array([getattr(c, f) for c in customers], dtype=float) for f in ("x", "t_x", "T"))
    r, alpha, a, b = _fit(_bgnbd_nll, np.log([1.0, 10.0, 1.0, 1.0]), (x, t_x, T))
    return BgNbd(float(r), float(alpha), float(a), float(b))


def fit_gamma_gamma(customers: Sequence[Summary]) -> GammaGamma:
    repeat = [c for c in customers if c.x > 0 and c.monetary > 0]
    x = np.array([c.x for c in repeat], dtype=float)
    m = np.array([c.monetary for c in repeat], dtype=float)
    p, q, v = _fit(_gg_nll, np.log([1.0, 1.0, 1.0]), (x, m))
    return GammaGamma(float(p), float(q), float(v))


@dataclass(frozen=True, slots=True)
class Fitted:
    purchases: BgNbd
    spend: GammaGamma

    def values(self, customers: Sequence[Summary], horizon: float) -> list[float]:
        """Each customer's expected value over the next ``horizon`` days."""
        x, t_x, T, m = (
            np.array([getattr(c, f) for c in customers], dtype=float) for f in ("x", "t_x", "T", "monetary")
        )
        purchases = self.purchases.expected(horizon, x, t_x, T)
        spend = self.spend.expected(x, np.where(x > 0, m, 0.0))
        return [float(v) for v in purchases * spend]

    def discounted(
        self, customers: Sequence[Summary], horizon: float, annual_rate: float, margin: float = 1.0
    ) -> list[float]:
        """Each customer's expected value over the next ``horizon`` days at today's worth: the
        horizon cut into steps of ``STEP_DAYS`` (the last one shorter), the purchases expected in
        each step discounted from its end at ``annual_rate`` a year, times ``margin`` of the
        expected value of a purchase. At a rate of 0 and a margin of 1 it is ``values``."""
        x, t_x, T, m = (
            np.array([getattr(c, f) for c in customers], dtype=float) for f in ("x", "t_x", "T", "monetary")
        )
        spend = self.spend.expected(x, np.where(x > 0, m, 0.0))
        total = np.zeros_like(x)
        before = np.zeros_like(x)
        ends = [float(d) for d in np.arange(STEP_DAYS, horizon, STEP_DAYS)] + [horizon]
        for end in ends:
            upto = self.purchases.expected(end, x, t_x, T)
            total += (upto - before) / (1.0 + annual_rate) ** (end / YEAR_DAYS)
            before = upto
        return [float(v) for v in total * spend * margin]


def fit(customers: Sequence[Summary]) -> Fitted | None:
    """Both models, or None when there are too few customers or repeat buyers to fit them."""
    repeaters = sum(1 for c in customers if c.x > 0 and c.monetary > 0)
    if len(customers) < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        return None
    return Fitted(fit_bgnbd(customers), fit_gamma_gamma(customers))
