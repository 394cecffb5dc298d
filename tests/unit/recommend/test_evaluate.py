"""The offline evaluation on a generated history: the split is by time, the metrics are in range,
and on a history with taste the model and bought-together beat popularity."""

from __future__ import annotations

from omnikanal.recommend import generate
from omnikanal.recommend.evaluate import _metrics, evaluate, split
from omnikanal.recommend.model import TrainParams


def test_the_split_puts_the_earlier_interactions_first() -> None:
    shop = generate.catalogue(50, categories=5)
    rows = generate.history(2000, 100, shop)
    before, after = split(rows)
    assert len(before) == int(len(rows) * 0.8)
    assert max(r.at for r in before) <= min(r.at for r in after)


def test_the_generator_repeats_consumables_and_returns_some_purchases() -> None:
    shop = generate.catalogue(200, categories=10)
    rows = generate.history(20_000, 500, shop)
    assert {r.kind for r in rows} >= {"view", "order", "return"}
    repeats = {}
    for r in rows:
        if r.kind == "order" and r.product_id in shop.consumables:
            repeats[(r.profile_id, r.product_id)] = repeats.get((r.profile_id, r.product_id), 0) + 1
    assert max(repeats.values()) > 1


def test_metrics_of_a_perfect_and_an_empty_ranking() -> None:
    assert _metrics(["a", "b"], {"a", "b"}) == (1.0, 1.0)
    assert _metrics(["x", "y"], {"a"}) == (0.0, 0.0)


def test_the_model_and_bought_together_beat_popularity_on_a_history_with_taste() -> None:
    shop = generate.catalogue(300, categories=15)
    rows = generate.history(30_000, 1500, shop)
    scores = {s.method: s for s in evaluate(rows, shop.categories, TrainParams(factors=16, iterations=8))}
    assert set(scores) == {"implicit ALS", "popularity", "bought together"}
    for s in scores.values():
        assert 0 <= s.ndcg <= 1
        assert 0 <= s.recall <= 1
        assert 0 < s.coverage <= 1
    assert scores["implicit ALS"].ndcg > scores["popularity"].ndcg
    assert scores["bought together"].ndcg > scores["popularity"].ndcg
    assert scores["implicit ALS"].coverage > scores["popularity"].coverage


def test_nothing_to_evaluate_without_interactions() -> None:
    assert evaluate([], {}, TrainParams()) == []
