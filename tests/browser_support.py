"""What every browser test shares: the system's Chromium, its flags, where screenshots go, and npm
packages installed into a temporary folder at test time (never committed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import IN_CI

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


def unavailable(reason: str) -> NoReturn:
    """A tool the test needs is missing: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def npm_install(folder: Path, packages: tuple[str, ...], what: str) -> Path:
    """``packages`` from the npm registry into ``folder`` (its node_modules), for the test's run only."""
    npm = shutil.which("npm")
    if npm is None:
        unavailable(f"npm is not installed (Node.js 20 and npm are needed for the tests of {what})")
    try:
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(folder), *packages],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"npm install of {what} took over 300 s (is the registry reachable?)")
    if done.returncode != 0:
        unavailable(f"npm install of {what} failed: {done.stderr.strip()[-500:]}")
    return folder


def chromium() -> Iterator[Browser]:
    """The system's Chromium, headless, for a module-scoped ``browser`` fixture to yield from."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (./dev test installs Debian's chromium when it can)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()
