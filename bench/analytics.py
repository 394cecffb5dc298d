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
from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.model import MODELS, Options, Path, Touch
from omnikanal.analytics.paths import Window, build_paths

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
        rows = _rows(paths)
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


if __name__ == "__main__":
    main()
