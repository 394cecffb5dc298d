"""Work a serving process repeats in the background: flushes, checkpoints, log processors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``tick`` in a daemon thread every ``interval`` seconds until stopped.

    ``tick`` returns True when more work is waiting, to run again at once. A failing tick is handed
    to ``on_error`` (logged by default) and tried again next time: a background thread must not die
    of a database that is away for a moment.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], bool | None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        first_after: float = 0.0,
    ) -> None:
        self._name = name
        self._first_after = first_after
        self._interval = interval
        self._tick = tick
        self._on_error = on_error or (lambda exc: log.exception("%s failed", name, exc_info=exc))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the next tick now instead of at the end of the interval (new work was committed)."""
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                # Still in a tick: keep the reference, so start() cannot run a second thread beside it.
                log.warning("%s did not stop within %s s", self._name, timeout)
                return
            self._thread = None

    def _run(self) -> None:
        if self._first_after:
            self._stop.wait(self._first_after)
        while not self._stop.is_set():
            try:
                more = self._tick()
            except Exception as exc:
                self._on_error(exc)
                more = False
            if not more:
                self._wake.wait(self._interval)
            self._wake.clear()
