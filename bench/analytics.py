"""Attribution throughput: ``python -m bench.analytics [--paths 100000]``.

Generates paths of 1 to 6 touchpoints over eight channels and sources (about 40 % converting), then
prints, for each model, how many paths a second it credits; and how fast the columnar copy is read
back into paths through DuckDB (write the Parquet part, read and build the paths). Figures only,
nothing passes or fails. No database is involved: the models and the DuckDB reading are what is
measured (the database path reads the same rows with SQL).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from types import SimpleNamespace

from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.clv import Summary, fit
from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.funnel import funnel
from omnikanal.analytics.model import MODELS, Options, Path, Touch
from omnikanal.analytics.paths import Window, build_paths
from omnikanal.analytics.usage import Rates, own_costs

CHANNELS = ("web", "app", "pos", "email", "sms", "hotline", "whatsapp", "push")
SOURCES = (
    ("google", "cpc"),
    ("google", "organic"),
    ("newsletter", "email"),
    ("facebook", "social"),
    ("radio-ffh", "radio"),
    ("(direct)", "(none)"),
    ("bing", "cpc"),
    ("instagram", "social"),
)
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def make_paths(n: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        start = T0 + timedelta(minutes=rng.randrange(60 * 24 * 30))
        touches = []
        for j in range(rng.randint(1, 6)):
            source, medium = rng.choice(SOURCES)
            touches.append(
                Touch(
                    start + timedelta(hours=6 * j),
                    rng.choice(CHANNELS),
                    source,
                    medium,
                    f"c{rng.randrange(20)}",
                )
            )
        end = touches[-1].at + timedelta(hours=1)
        converted = rng.random() < 0.4
        paths.append(
            Path(
                f"p{i}",
                tuple(touches),
                end if converted else None,
                rng.randint(10, 300) if converted else 0.0,
            )
        )
    return paths


def _rows(paths: list[Path]) -> list[SimpleNamespace]:
    rows, seq = [], 0
    for path in paths:
        for t in path.touches:
            seq += 1
            rows.append(
                SimpleNamespace(
                    seq=seq,
                    profile_id=path.profile_id,
                    at=t.at,
                    type="page",
                    event="page",
                    channel=t.channel,
                    source=t.source,
                    medium=t.medium,
                    campaign=t.campaign,
                    order_id=None,
                    value_cents=None,
                    currency=None,
                )
            )
        if path.converted_at is not None:
            seq += 1
            rows.append(
                SimpleNamespace(
                    seq=seq,
                    profile_id=path.profile_id,
                    at=path.converted_at,
                    type="track",
                    event="Order Completed",
                    channel="web",
                    source="(direct)",
                    medium="(none)",
                    campaign=None,
                    order_id=f"o{seq}",
                    value_cents=int(path.value * 100),
                    currency="EUR",
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics")
    parser.add_argument("--paths", type=int, default=100_000)
    args = parser.parse_args()
    paths = make_paths(args.paths)
    rows = _rows(paths)
    options = Options(markov_order=1)
    print(
        f"{args.paths:,} paths, {sum(len(p.touches) for p in paths):,} touchpoints, "
        f"{sum(p.converted for p in paths):,} conversions"
    )
    for model in MODELS:
        for order in (1, 2, 3) if model == "markov" else (1,):
            began = time.perf_counter()
            attribute(paths, model, "channel", Options(markov_order=order))
            took = time.perf_counter() - began
            name = f"{model} (order {order})" if model == "markov" else model
            print(f"  {name:<22} {took:7.2f} s  {args.paths / took:12,.0f} paths/s")
    with tempfile.TemporaryDirectory() as folder:
        columnar = Columnar(FilePath(folder))
        began = time.perf_counter()
        columnar.append(rows)
        wrote = time.perf_counter() - began
        window = Window(T0, T0 + timedelta(days=40), timedelta(days=30))
        began = time.perf_counter()
        built = build_paths(columnar.path_rows(window), columnar.refunds(window), window)
        read = time.perf_counter() - began
    print(
        f"  columnar: wrote {len(rows):,} touchpoints in {wrote:.2f} s; DuckDB read them back into "
        f"{len(built.paths):,} paths in {read:.2f} s ({len(rows) / read:,.0f} rows/s)"
    )
    del options
    _newer(paths, rows)


def _summaries(n: int, seed: int = 5) -> list[Summary]:
    """Customers from the repeat-buying models' own story (rate, drop-out, spend)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        rate, drop, scale = rng.gammavariate(0.8, 1 / 12), rng.betavariate(1.2, 3.5), rng.uniform(20, 80)
        horizon, t, days = float(rng.randint(60, 365)), 0.0, []
        while True:
            t += rng.expovariate(rate)
            if t > horizon:
                break
            days.append(int(t))
            if rng.random() < drop:
                break
        x = len(set(days))
        spend = sum(rng.gammavariate(5.0, scale / 5) for _ in range(x)) / x if x else 0.0
        out.append(Summary(x, float(max(days)) if days else 0.0, horizon, spend))
    return out


def _newer(paths: list[Path], rows: list[SimpleNamespace]) -> None:
    """The own costs, lifetime value and funnel over the same generated data."""
    rng = random.Random(3)
    kinds = ("sms", "whatsapp", "email", "push", "task", "case")
    usage = sorted(
        (
            SimpleNamespace(
                profile_id=p.profile_id,
                at=t.at,
                kind=(kind := rng.choice(kinds)),
                channel=t.channel,
                queue="returns" if kind == "case" else "",
                quantity=rng.randint(0, 3) if kind == "sms" else 1,
            )
            for p in paths
            for t in p.touches
        ),
        key=lambda r: (r.profile_id, r.at),
    )
    rates = Rates(0.075, 0.11, 0.9, 0.0, 5, 15, {"default": 32.0}, {"pos": 4000.0})
    began = time.perf_counter()
    own_costs(usage, rates, T0.date(), (T0 + timedelta(days=40)).date())
    took = time.perf_counter() - began
    print(f"  own costs: {len(usage):,} usage rows priced in {took:.2f} s")
    customers = _summaries(max(1000, len(paths) // 10))
    began = time.perf_counter()
    fitted = fit(customers)
    assert fitted is not None
    fitted.values(customers, 365)
    took = time.perf_counter() - began
    print(
        f"  lifetime value: BG/NBD and Gamma-Gamma fitted and applied on {len(customers):,} customers "
        f"in {took:.2f} s"
    )
    ordered = sorted(rows, key=lambda r: (r.profile_id, r.at, r.seq))
    began = time.perf_counter()
    funnel(ordered, ("page", "Order Completed"))
    took = time.perf_counter() - began
    print(f"  funnel: two steps over {len(ordered):,} touchpoints in {took:.2f} s")


if __name__ == "__main__":
    main()
