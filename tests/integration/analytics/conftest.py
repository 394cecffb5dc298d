"""The analytics world: a hub with a set clock, a live server and three sources."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnikanal.settings import Settings
from tests.integration.analytics.support import World, make_world


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    yield from make_world(settings)
