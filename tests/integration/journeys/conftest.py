"""The journey fixtures (tests/journey_support.py)."""

from tests.journey_support import hooks, journey_settings, smtp, world_fixture  # noqa: F401
