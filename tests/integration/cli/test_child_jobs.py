"""The worker's heavy scheduled jobs (columnar refresh, recommender training) in child processes:
the child reads the worker's settings from the environment, does the job, and ends."""

from __future__ import annotations

import time

import pytest

from omnikanal.analytics.jobs import PROCESSOR
from omnikanal.child_jobs import JOBS, ChildJobs, run_child
from omnikanal.hub import Hub
from omnikanal.settings import Settings


def _environment(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("OMNIKANAL_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("OMNIKANAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OMNIKANAL_AUTO_MIGRATE", "false")


def test_the_columnar_refresh_runs_in_a_child_and_its_copy_is_what_the_worker_sees(
    hub: Hub, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = hub.sources.create("shop", "web")[0]
    items = [
        {
            "type": "page",
            "anonymousId": f"anon-{n}",
            "messageId": f"p{n}",
            "properties": {"url": "https://x.de/?utm_source=news"},
        }
        for n in range(5)
    ]
    assert hub.ingest.ingest(source, items).accepted == 5
    deadline = time.monotonic() + 15
    while hub.eventlog.behind(PROCESSOR):
        hub.runner.run_once()
        assert time.monotonic() < deadline, "the analytics processor fell behind"
    assert hub.analytics.behind_total() == 5
    _environment(monkeypatch, settings)

    assert run_child("analytics-refresh", timeout=120) is True

    assert hub.analytics.behind_total() == 0  # the child's copy, read by this process


def test_an_unknown_job_fails_in_the_child_and_the_worker_is_told(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, settings)
    assert run_child("no-such-job", timeout=120) is False


def test_only_jobs_with_an_interval_are_scheduled(tmp_path: object) -> None:
    both = ChildJobs(Settings(analytics_refresh_seconds=60, recommend_train_seconds=600))
    none = ChildJobs(Settings(analytics_refresh_seconds=0, recommend_train_seconds=0))
    assert both.scheduled == [job.name for job in JOBS]
    assert none.scheduled == []
