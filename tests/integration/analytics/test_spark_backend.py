"""Attribution on Spark gives the numbers DuckDB gives, over the same Parquet files of the columnar
copy: every model, by channel and by campaign, with returns, merged profiles, several parts.

The generated history (history.py) has what the path builder must get right.
"""

from __future__ import annotations

from contextlib import nullcontext
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
from tests.integration.analytics.history import NOW, history
from tests.spark_support import spark_session

# PySpark's launcher leaves the pipes of its Java gateway process open when the session stops (a
# library's leak, not one of the hub's): the warnings it raises at garbage collection are ignored here.
pytestmark = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


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
    rows = history(120, seed=11)
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
