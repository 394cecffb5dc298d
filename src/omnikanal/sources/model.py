"""Sources: one per channel system (a shop, an app, the tills of a store chain, the hotline software)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The business channels. The Segment envelope's own ``channel`` (server, browser, mobile) names the
# sending library and is kept separately as ``lib_channel``.
CHANNELS: tuple[str, ...] = (
    "web",
    "app",
    "store",
    "pos",
    "hotline",
    "email",
    "chat",
    "social",
    "sms",
    "erp",
    "other",
)


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    channel: str
    enabled: bool
    created_at: datetime
    key_rotated_at: datetime | None
