"""The journey fixtures (tests/journey_support.py)."""

from tests.journey_support import journey_settings, world_fixture  # noqa: F401
