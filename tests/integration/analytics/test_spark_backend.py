"""Attribution on Spark gives the numbers DuckDB gives, over the same Parquet files of the columnar
copy: every model, by channel and by campaign, with returns, merged profiles, several parts.

The generated history has what the path builder must get right: conversions before the period
(which cut a path but make none), conversions without touches, touches at the very moment of a
conversion (after it by seq), returns taking part or all of an order back, campaigns missing or
blank, touches older than the lookback, and people who never convert.
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from sqlalchemy import create_engine

from omnikanal.analytics.cli import Commands
from omnikanal.analytics.model import MODELS, Credit
from omnikanal.analytics.service import Analytics
from omnikanal.analytics.wiring import build_analytics
from omnikanal.clock import FixedClock
from omnikanal.errors import InvalidInput
from omnikanal.settings import Settings
from tests.spark_support import spark_session

# PySpark's launcher leaves the pipes of its Java gateway process open when the session stops (a
# library's leak, not one of the hub's): the warnings it raises at garbage collection are ignored here.
pytestmark = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CHANNELS = ("web", "app", "pos", "email", "hotline")
SOURCES = (("google", "cpc", "spring"), ("newsletter", "email", "nov"), ("radio-ffh", "radio", None))
SOURCES += (("(direct)", "(none)", None), ("facebook", "social", ""))


def _history(people: int, seed: int) -> list[SimpleNamespace]:
    """Touchpoint rows of the columnar copy, in seq order, over the 50 days before NOW."""
    rng = random.Random(seed)
    events: list[tuple[datetime, str, dict[str, object]]] = []
    for p in range(people):
        profile, at, orders = f"p{p}", NOW - timedelta(days=rng.uniform(5, 50)), []
        for _ in range(rng.randint(0, 14)):
            at += timedelta(hours=rng.choice((0, 1, 7, 30, 100)))
            if at >= NOW:
                break
            roll = rng.random()
            if roll < 0.2:
                orders.append(order := f"o{p}-{len(orders)}")
                cents = rng.choice((None, 0, 1999, 5000, 12_345))
                events.append(
                    (at, profile, {"event": "Order Completed", "order_id": order, "value_cents": cents})
                )
            elif roll < 0.26 and orders:
                back = rng.choice((500, 1999, 99_999))
                row = {"event": "Order Refunded", "order_id": rng.choice(orders), "value_cents": back}
                events.append((at, profile, row))
            else:
                source, medium, campaign = rng.choice(SOURCES)
                row = {"event": rng.choice((None, "Product Viewed")), "channel": rng.choice(CHANNELS)}
                events.append(
                    (at, profile, {**row, "source": source, "medium": medium, "campaign": campaign})
                )
    events.sort(key=lambda e: rng.random())  # seq order is arrival order, not time order
    return [_row(seq, at, profile, fields) for seq, (at, profile, fields) in enumerate(events, 1)]


def _row(seq: int, at: datetime, profile: str, fields: dict[str, object]) -> SimpleNamespace:
    base: dict[str, object] = {"type": "track", "channel": "web", "source": "(direct)", "medium": "(none)"}
    base.update(campaign=None, order_id=None, value_cents=None, currency="EUR", event=None)
    return SimpleNamespace(seq=seq, profile_id=profile, at=at, **{**base, **fields})


def _service(tmp_path: Path, backend: str = "duckdb") -> Analytics:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}", data_dir=tmp_path, analytics_backend=backend
    )
    # attribution over the columnar copy reads no table: the engine is there for the other reports
    return build_analytics(settings, create_engine("sqlite://"), FixedClock(NOW), lambda pid: pid).service


def _close(ours: dict[str, Credit], theirs: dict[str, Credit], what: object) -> None:
    assert set(ours) == set(theirs), what
    for key, credit in ours.items():
        assert credit.conversions == pytest.approx(theirs[key].conversions, abs=1e-9), (what, key)
        assert credit.value == pytest.approx(theirs[key].value, abs=1e-9), (what, key)


def test_spark_credits_every_model_as_duckdb_does_over_the_same_files(tmp_path: Path) -> None:
    spark_session()
    analytics = _service(tmp_path)
    rows = _history(120, seed=11)
    for start in range(0, len(rows), 300):  # several parts, as refreshes write them
        analytics.columnar.append(rows[start : start + 300])
    analytics.columnar.add_merges({"p1": "p2", "p3": "p2", "p7": "p8"})
    asked = (("channel", 1, "P30D"), ("campaign", 2, "P7D"))
    for dimension, order, lookback in asked:
        q = analytics.ask(
            model="all", dimension=dimension, order=order, lookback=lookback, since="2026-10-25"
        )
        duck_head, duck = analytics.credited(q, backend="duckdb")
        spark_head, spark = analytics.credited(q, backend="spark")
        assert duck_head == spark_head, dimension
        assert duck_head["conversions"] > 30
        assert duck_head["paths"] > duck_head["conversions"]
        assert set(duck) == set(spark) == set(MODELS)
        for model in MODELS:
            _close(spark[model], duck[model], (dimension, model))
            assert sum(c.conversions for c in spark[model].values()) == pytest.approx(
                duck_head["conversions"]
            )
    # the setting chooses the backend when a call names none; the answers match row by row
    configured = _service(tmp_path, "spark")
    q = configured.ask(model="all", dimension="channel", since="2026-10-25")
    ours, theirs = configured.attribution(q), analytics.attribution(q)
    assert [r["key"] for r in ours["rows"]] == [r["key"] for r in theirs["rows"]]
    for mine, duck_row in zip(ours["rows"], theirs["rows"], strict=True):
        for model in MODELS:
            assert mine["models"][model] == pytest.approx(duck_row["models"][model], abs=1e-6)
    with pytest.raises(InvalidInput) as refused:
        configured.attribution(configured.ask(conversion="Never Happened"))
    assert refused.value.field == "conversion"


def test_a_backend_is_named_and_spark_only_reads_the_columnar_copy(tmp_path: Path) -> None:
    analytics = _service(tmp_path)
    q = analytics.ask(model="linear")
    with pytest.raises(InvalidInput) as unknown:
        analytics.attribution(q, backend="hadoop")
    assert unknown.value.field == "backend"
    with pytest.raises(InvalidInput) as database:
        analytics.attribution(q, "database", "spark")
    assert database.value.field == "backend"
    # the command hands its --backend to the service
    commands = Commands(lambda: nullcontext(SimpleNamespace(analytics=analytics)), Console(record=True))
    with pytest.raises(InvalidInput) as from_command:
        commands.attribution(model="linear", backend="hadoop")
    assert from_command.value.field == "backend"
    with pytest.raises(ValueError, match="analytics_engine"):
        Settings(database_url="sqlite://", analytics_backend="spark", analytics_engine="database")
