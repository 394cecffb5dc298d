"""The worker role beside the API on one machine: ``omnikanal serve`` starts ``omnikanal worker`` as a
child process and keeps it running.

A separate process rather than threads of the serving one, measured (bench/README.md): the
processors' Python work then runs on the other core instead of taking turns with the requests at one
interpreter lock, and ingest no longer waits behind it. The two share work only through the
database, as on several machines.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

# A worker that dies is started again after this long (doubling up to the maximum while it keeps
# dying within a minute of its start), so a worker that cannot start does not spin.
RESTART_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0


class WorkerProcess:
    def __init__(
        self, env: Mapping[str, str] | None = None, args: tuple[str, ...] = (), nice: int = 0
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        self._args = args
        self._nice = nice
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._stop.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:  # never a new worker after stop() has begun
            if self._stop.is_set() and self._process is not None:
                return
            command = [sys.executable, "-m", "omnikanal", "worker", *self._args]
            self._process = subprocess.Popen(command, env=self._env)  # noqa: S603 - our own interpreter
            if self._nice:
                # beside the API on one machine the worker yields the CPU to requests during a burst and
                # catches up when they are fewer
                try:
                    os.setpriority(os.PRIO_PROCESS, self._process.pid, self._nice)
                except OSError:
                    log.warning("could not lower the worker's priority")
            log.info("worker process %s started", self._process.pid)

    def _supervise(self) -> None:
        delay = RESTART_SECONDS
        while not self._stop.is_set():
            process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - started > 60:
                delay = RESTART_SECONDS  # it had recovered: this failure waits briefly again
            log.warning("worker process %s ended with %s; starting again in %.0f s", process.pid, code, delay)
            if self._stop.wait(delay):
                return
            self.restarts += 1
            self._spawn()
            delay = min(delay * 2, RESTART_MAX_SECONDS)

    def stop(self, timeout: float = 30) -> None:
        """Ask the worker to finish its round and stop (SIGTERM); kill it if it does not in time."""
        with self._lock:
            self._stop.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("worker process %s did not stop within %s s; killing it", process.pid, timeout)
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
