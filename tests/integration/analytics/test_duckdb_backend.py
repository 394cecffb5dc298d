"""Attribution as SQL inside DuckDB (duckdb_backend.py) gives what the path builder and the models
in Python give over the same Parquet files: every model, each dimension, Markov of order 1 to 3,
with returns, merged profiles, several parts and the cases of the generated history (history.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.duckdb_backend import DuckAttribution
from omnikanal.analytics.markov import chain, counted_chain, walks
from omnikanal.analytics.model import MODELS, Credit
from omnikanal.analytics.paths import build_paths
from omnikanal.analytics.query import Question
from omnikanal.analytics.service import Analytics
from omnikanal.analytics.wiring import build_analytics
from omnikanal.clock import FixedClock
from omnikanal.settings import Settings
from tests.integration.analytics.history import NOW, history


def _service(tmp_path: Path) -> Analytics:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", data_dir=tmp_path)
    # attribution over the columnar copy reads no table: the engine is there for the other reports
    return build_analytics(settings, create_engine("sqlite://"), FixedClock(NOW), lambda pid: pid).service


def _filled(tmp_path: Path, people: int, seed: int) -> Analytics:
    analytics = _service(tmp_path)
    rows = history(people, seed)
    for start in range(0, len(rows), 250):  # several parts, as refreshes write them
        analytics.columnar.append(rows[start : start + 250])
    analytics.columnar.add_merges({"p1": "p2", "p3": "p2", "p7": "p8"})
    return analytics


def _python(columnar: Columnar, q: Question) -> tuple[tuple[int, float, int], dict[str, dict[str, Credit]]]:
    """What the path builder and the models in Python give (the way before the SQL one)."""
    built = build_paths(columnar.path_rows(q.window), columnar.refunds(q.window), q.window)
    converted = [p for p in built.paths if p.converted]
    head = (len(converted), sum(p.value for p in converted), len(built.paths))
    return head, {m: attribute(built.paths, m, q.dimension, q.options) for m in q.models}


def _same(ours: dict[str, Credit], theirs: dict[str, Credit], what: object) -> None:
    assert set(ours) == set(theirs), what
    for key, credit in ours.items():
        assert credit.conversions == pytest.approx(theirs[key].conversions, abs=1e-9), (what, key)
        assert credit.value == pytest.approx(theirs[key].value, abs=1e-9), (what, key)


ASKED = (
    ("channel", 1, "P30D", "P7D"),
    ("source", 2, "P7D", "P1D"),
    ("medium", 3, "P30D", "PT12H"),
    ("campaign", 3, "P2D", "P7D"),
    ("campaign", 1, "PT6H", "P3D"),
)


@pytest.mark.parametrize(("dimension", "order", "lookback", "half_life"), ASKED)
def test_sql_in_duckdb_credits_every_model_as_the_python_path_builder_does(
    tmp_path: Path, dimension: str, order: int, lookback: str, half_life: str
) -> None:
    analytics = _filled(tmp_path, 150, seed=23)
    q = analytics.ask(
        model="all",
        dimension=dimension,
        order=order,
        lookback=lookback,
        half_life=half_life,
        since="2026-10-25",
    )
    (n, value, paths), credits = DuckAttribution(analytics.columnar).credited(q)
    (old_n, old_value, old_paths), old = _python(analytics.columnar, q)
    assert (n, paths) == (old_n, old_paths)
    assert value == pytest.approx(old_value, abs=1e-9)
    assert n > 20
    assert paths > n  # paths that did not convert are there too (the Markov model reads them)
    assert set(credits) == set(MODELS)
    for model in MODELS:
        _same(credits[model], old[model], (dimension, order, model))
        assert sum(c.conversions for c in credits[model].values()) == pytest.approx(n)


def test_the_service_answers_from_sql_what_the_python_models_answer(tmp_path: Path) -> None:
    analytics = _filled(tmp_path, 80, seed=5)
    q = analytics.ask(model="all", dimension="channel", since="2026-10-20")
    head, credits = analytics.credited(q, "duckdb")
    (n, value, paths), old = _python(analytics.columnar, q)
    assert (head["conversions"], head["value"], head["paths"]) == (n, round(value, 2), paths)
    for model in MODELS:
        _same(credits[model], old[model], model)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_the_markov_chain_counted_in_sql_has_the_transitions_of_the_paths(tmp_path: Path, order: int) -> None:
    analytics = _filled(tmp_path, 150, seed=31)
    q = analytics.ask(model="markov", dimension="channel", since="2026-10-25")
    columnar = analytics.columnar
    built = build_paths(columnar.path_rows(q.window), columnar.refunds(q.window), q.window)
    with DuckAttribution(columnar).paths(q.window) as duck:
        counted = counted_chain(duck.transitions("channel"), order)
    # the same counts of each step over the same states: the same probabilities, exactly
    assert counted == chain(walks(built.paths, "channel"), order)


def test_a_lookback_shorter_than_the_gaps_leaves_converting_paths_without_touches(tmp_path: Path) -> None:
    analytics = _filled(tmp_path, 60, seed=2)
    q = analytics.ask(model="all", lookback="PT1S", since="2026-10-25")
    assert q.window.lookback == timedelta(seconds=1)
    (n, _, _), credits = DuckAttribution(analytics.columnar).credited(q)
    _, old = _python(analytics.columnar, q)
    assert credits["linear"]["(none)"].conversions > 0
    for model in MODELS:
        _same(credits[model], old[model], model)
        assert sum(c.conversions for c in credits[model].values()) == pytest.approx(n)


def test_the_first_purchases_credited_in_sql_are_those_the_path_builder_flags(tmp_path: Path) -> None:
    analytics = _filled(tmp_path, 150, seed=17)
    q = analytics.ask(model="all", dimension="channel", order=2, since="2026-11-01")
    columnar = analytics.columnar
    earlier = columnar.converted_before(q.window)
    assert earlier  # some people bought before the period: their purchases in it are no acquisitions
    built = build_paths(columnar.path_rows(q.window), columnar.refunds(q.window), q.window, earlier)
    firsts = [p for p in built.paths if p.first]
    assert 0 < len(firsts) < sum(p.converted for p in built.paths)
    _, (every, acquired) = DuckAttribution(columnar).acquired(q)
    for model in MODELS:
        _same(acquired[model], attribute(firsts, model, "channel", q.options), model)
        _same(every[model], attribute(built.paths, model, "channel", q.options), model)
        assert sum(c.conversions for c in acquired[model].values()) == pytest.approx(len(firsts))
