"""What every event in the log is: one of the Segment spec's types."""

from __future__ import annotations

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
