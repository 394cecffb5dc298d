"""Fixtures: a hub on each real engine, a real HTTP server, sources and tokens.

Every test that takes ``hub`` (or something built on it) runs twice: on SQLite and on PostgreSQL.
PostgreSQL is found at OMNIKANAL_TEST_POSTGRES_URL (default: the local server); without one the
PostgreSQL runs skip with the reason, except under CI=true, where a missing server fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text

from omnikanal.clock import SystemClock
from omnikanal.db.engine import make_engine
from omnikanal.db.migrate import upgrade
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import Settings
from omnikanal.sources.model import Source
from omnikanal.tables import metadata
from tests.live_server import LiveServer

# The local SMTP server and webhook receiver fixtures (smtp, hooks), for the messaging and journey tests.
pytest_plugins = ["tests.integration.messaging.support"]

PG_ADMIN_URL = os.environ.get("OMNIKANAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_reason() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}".strip()
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database of this test worker's own on the PostgreSQL server, migrated to head."""
    reason = _pg_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"omnikanal_test_{_worker()}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(Settings(), url)
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(Settings(), f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_pg(url: str) -> None:
    engine = make_engine(Settings(), url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database on each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "omnikanal.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub with its background workers running (as under ``omnikanal serve``)."""
    built = build_hub(settings, SystemClock())
    built.start()
    yield built
    built.close()


@dataclass
class Channel:
    """A source and its write key."""

    source: Source
    write_key: str


@pytest.fixture
def make_channel(hub: Hub) -> Iterator[object]:
    def make(name: str, channel: str) -> Channel:
        source, key = hub.sources.create(name, channel)
        return Channel(source, key)

    return make


@pytest.fixture
def admin_token(hub: Hub) -> str:
    return hub.tokens.create("test-admin", "admin")[1]


@pytest.fixture
def live_server(hub: Hub) -> Iterator[LiveServer]:
    server = LiveServer(hub)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
