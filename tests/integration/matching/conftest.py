"""A model trained once per test session on generated records (training takes seconds), and a hub
whose matching runs only when a test says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omnikanal.matching import splink_model
from omnikanal.matching.card import build_card
from omnikanal.matching.generate import generate
from omnikanal.settings import Settings


@pytest.fixture(scope="session")
def trained_model() -> dict[str, Any]:
    from datetime import date

    records = generate(3000, seed=11)
    cards = [build_card(r.record_id, r.traits, "DE", date(2026, 1, 1))[0].row() for r in records]
    return splink_model.train(cards, max_pairs=5e5)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auto_migrate=False,
        matching_interval_seconds=0,
        matching_merge_threshold=0.99,
        matching_review_threshold=0.5,
    )
