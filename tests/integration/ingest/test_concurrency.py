"""Several server processes writing events of the same people at once end in one profile each."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from omnikanal.db.engine import read_tx
from omnikanal.eventlog.tables import events
from omnikanal.hub import Hub
from omnikanal.profiles.identity.tables import identities
from omnikanal.profiles.tables import profiles

PEOPLE = 12
DEVICES = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def servers(hub: Hub, database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two `omnikanal serve` processes on the same database."""
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": database_url,
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "OMNIKANAL_AUTO_MIGRATE": "false",
    }
    procs, urls = [], []
    for n in range(2):
        port = _free_port()
        with open(tmp_path / f"server-{n}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    # the API role only: what is measured here is ingest's stitching in two processes
                    [sys.executable, "-m", "omnikanal", "serve", "--no-worker", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def test_parallel_writers_in_two_processes_stitch_each_person_into_one_profile(
    hub: Hub, servers: list[str]
) -> None:
    key = hub.sources.create("shop", "web")[1]
    requests: list[tuple[str, dict[str, object]]] = []
    for person in range(PEOPLE):
        for device in range(DEVICES):
            anon = f"p{person}-d{device}"
            requests.append(("track", {"anonymousId": anon, "event": "Product Viewed"}))
            requests.append(("track", {"anonymousId": anon, "event": "Product Added"}))
            # each device logs in: user id on two devices, the email on the others
            traits = {"email": f"person{person}@example.de"}
            link = {"userId": f"u{person}"} if device % 2 == 0 else {}
            requests.append(("identify", {"anonymousId": anon, **link, "traits": traits}))
    random.Random(7).shuffle(requests)

    def send(job: tuple[int, tuple[str, dict[str, object]]]) -> int:
        n, (kind, body) = job
        url = servers[n % 2]
        return httpx.post(f"{url}/v1/{kind}", json=body, auth=(key, ""), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, enumerate(requests)))
    assert statuses == [200] * len(requests)

    with read_tx(hub.engine) as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == len(requests)
        live = set(conn.execute(select(profiles.c.id).where(profiles.c.state == "live")).scalars())
        # no event and no identifier is left on a merged-away profile
        assert set(conn.execute(select(events.c.profile_id).distinct()).scalars()) <= live
        assert set(conn.execute(select(identities.c.profile_id).distinct()).scalars()) <= live
    assert len(live) == PEOPLE
    for person in range(PEOPLE):
        profile = hub.profiles.lookup("user_id", f"u{person}")
        assert profile["computed"]["event_count"] == DEVICES * 3
        anons = {i["value"] for i in profile["identifiers"] if i["type"] == "anonymous_id"}
        assert anons == {f"p{person}-d{d}" for d in range(DEVICES)}
