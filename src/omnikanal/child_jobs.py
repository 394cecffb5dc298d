"""Scheduled jobs that a worker process runs in a child process of its own.

The columnar refresh (Arrow, DuckDB) and recommender training (implicit, SciPy) load libraries of
tens of megabytes and build their working sets in memory. Run in the worker itself, both stay for
the life of the process: measured with ``./dev bench --quick``, the worker's anonymous memory went
from 100 MB to 180 MB when the first refresh ran in the middle of a burst, and never came back.
A child process returns all of it when the job ends, and a job that runs out of memory takes only
itself down. The price is a process start per run (about 2 s), paid every few minutes at most.

The child reads its settings from the environment, as ``omnikanal worker`` does, so only a worker
started as that command uses children; a hub built in-process (tests, the CLI) runs the jobs in
its own threads.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import typer

from omnikanal.background import Periodic
from omnikanal.hub import Hub
from omnikanal.settings import Settings

log = logging.getLogger(__name__)

# A job that has not finished in this time is stopped; its next run starts from what was committed.
TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class ChildJob:
    name: str
    interval: Callable[[Settings], float]
    first_after: Callable[[float], float]
    run: Callable[[Hub], object]


JOBS = (
    ChildJob(
        "analytics-refresh",
        lambda s: s.analytics_refresh_seconds,
        # not in a worker's first minute: a child's start (imports, a hub) cost ingest about 5 % in
        # ingest-check's 10 s when it ran after 5 s, and a columnar copy a minute old is fresh enough
        lambda interval: min(interval, 60.0),
        lambda hub: hub.analytics_refresh.run_once(),
    ),
    ChildJob(
        "recommend-training",
        lambda s: s.recommend_train_seconds,
        lambda interval: interval,
        lambda hub: hub.recommend_training.run_once(),
    ),
)
BY_NAME = {job.name: job for job in JOBS}


def run_child(name: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Run one job in a child process and wait for it; False (logged) if it failed."""
    command = [sys.executable, "-m", "omnikanal", "run-job", name]
    try:
        done = subprocess.run(command, env=dict(os.environ), timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        log.error("%s did not finish within %.0f s and was stopped", name, timeout)
        return False
    if done.returncode != 0:
        log.error("%s ended with exit code %s", name, done.returncode)
    return done.returncode == 0


class ChildJobs:
    """The worker's schedule of the jobs in JOBS, each run in a child process."""

    def __init__(self, settings: Settings) -> None:
        self._loops = {
            job.name: Periodic(job.name, interval, _once(job.name), first_after=job.first_after(interval))
            for job in JOBS
            if (interval := job.interval(settings)) > 0
        }

    @property
    def scheduled(self) -> list[str]:
        return list(self._loops)

    def start(self) -> None:
        for loop in self._loops.values():
            loop.start()

    def stop(self) -> None:
        for loop in self._loops.values():
            loop.stop()


def _once(name: str) -> Callable[[], bool]:
    def tick() -> bool:
        run_child(name)
        return False  # each job does all there is; wait for the next interval

    return tick


def install(app: typer.Typer, open_hub: Callable[[], AbstractContextManager[Hub]]) -> None:
    """The hidden ``omnikanal run-job NAME`` that a worker's child runs."""

    @app.command("run-job", hidden=True)
    def run_job(name: str) -> None:
        """Run one of the worker's scheduled jobs once, in this process, and exit."""
        job = BY_NAME.get(name)
        if job is None:
            raise typer.BadParameter(f"unknown job {name!r}; known: {', '.join(BY_NAME)}", param_hint="NAME")
        with open_hub() as hub:
            job.run(hub)
