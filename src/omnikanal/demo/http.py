"""What the demo's builders share: an answer checked, and the progress callback they report to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Step = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(n)


class DemoError(RuntimeError):
    pass


def check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise DemoError(f"{what}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body
