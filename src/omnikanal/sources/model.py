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
    # Page origins (scheme://host[:port]) allowed to send from a browser; empty: no browser may.
    allowed_origins: tuple[str, ...] = ()
    # A public write key (in a web page or an app) is rate limited per client address.
    public: bool = False
    # What happens to the visitor's IP address (context.ip) before an event is stored.
    ip_policy: str = "keep"


# keep: as sent; truncate: IPv4 to /24, IPv6 to /48; drop: removed.
IP_POLICIES: tuple[str, ...] = ("keep", "truncate", "drop")
