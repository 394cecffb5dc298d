"""The console's login limit holds under parallel guessing, believes X-Forwarded-For only from the
configured proxies, and logging out needs the session's CSRF token."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.settings import Settings
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, csrf_of, login
from tests.serve_process import start_serve

PARALLEL = 30


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, extra_settings: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "data_dir": tmp_path, "auto_migrate": False}
    return Settings(**{**values, **extra_settings})


@pytest.fixture
def staff(hub: Hub) -> Hub:
    hub.staff.create_user("service", "service", PASSWORD)
    return hub


def _login_from(url: str, username: str, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        return login(client, username, password).status_code


def test_parallel_wrong_passwords_get_no_more_password_checks_than_the_limit(
    staff: Hub, live_server: LiveServer
) -> None:
    limit = staff.settings.console_login_max_failures
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = Counter(
            pool.map(lambda _: _login_from(live_server.url, "service", "wrong password!"), range(PARALLEL))
        )
    # 401 means the password was checked; past the limit the answer is 429 without a check.
    assert statuses == {401: limit, 429: PARALLEL - limit}, statuses
    assert _login_from(live_server.url, "service", PASSWORD) == 429


def test_a_client_cannot_escape_the_address_limit_with_x_forwarded_for(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    # `omnikanal serve` as it runs, not the test server: the defect was in how it runs uvicorn.
    server = start_serve(database_url, tmp_path, console_login_max_failures_per_ip="3")
    try:
        for n in range(3):
            assert _login_from(server.url, f"guess-{n}", "wrong password!", f"198.51.100.{n}") == 401
        assert _login_from(server.url, "guess-9", "wrong password!", "198.51.100.99") == 429
    finally:
        server.stop()


@pytest.mark.parametrize(
    "extra_settings", [{"console_login_max_failures_per_ip": 3, "trusted_proxies": ["127.0.0.1/32"]}]
)
def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(staff: Hub, live_server: LiveServer) -> None:
    for n in range(3):
        # a client's own made-up entry in front of the proxy's does not count
        assert _login_from(live_server.url, f"guess-{n}", "wrong!", f"10.9.9.{n}, 203.0.113.7") == 401
    assert _login_from(live_server.url, "guess-9", "wrong!", "203.0.113.7") == 429
    assert _login_from(live_server.url, "guess-9", "wrong!", "203.0.113.8") == 401


@pytest.fixture
def signed_in(staff: Hub, live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "service").status_code == 303
        yield client


def test_logout_without_the_csrf_token_keeps_the_session(signed_in: httpx.Client) -> None:
    for form in ({}, {"csrf": "forged"}):
        refused = signed_in.post("/console/logout", data=form, follow_redirects=False)
        assert refused.status_code == 403, refused.text
        assert "set-cookie" not in refused.headers
    page = signed_in.get("/console/customers", follow_redirects=False)
    assert page.status_code == 200
    done = signed_in.post("/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert signed_in.get("/console/customers", follow_redirects=False).status_code == 303
