"""What every browser test shares: the system's Chromium, its flags, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("OMNIKANAL_TEST_CHROMIUM", "/usr/bin/chromium")
# headless on a closed network: without the background-networking flags Chromium's own connections
# are refused many at a time
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
