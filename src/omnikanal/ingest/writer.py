"""Group commit: requests wait while one thread writes many of them in a single transaction.

A request is answered only after its transaction committed (a 2xx means durable). Grouping turns
hundreds of small commits a second into a few large ones, which is what makes SQLite's single writer
fast enough, and it bounds the number of concurrent writers on PostgreSQL.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from omnikanal.ingest.service import IngestResult, IngestService, Submission

log = logging.getLogger(__name__)


class IngestWriter:
    def __init__(self, service: IngestService, threads: int, max_group_events: int) -> None:
        self._service = service
        self._max_group_events = max_group_events
        # None tells a writer thread to stop.
        self._queue: queue.Queue[tuple[Submission, Future[IngestResult]] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"ingest-writer-{n}", daemon=True) for n in range(threads)
        ]
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        if not self._started:
            return
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._started = False

    def submit(self, submission: Submission) -> Future[IngestResult]:
        future: Future[IngestResult] = Future()
        if not self._started:
            future.set_exception(RuntimeError("the ingest writer is not running"))
            return future
        self._queue.put((submission, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            size = len(first[0].valid) + len(first[0].rejected)
            stop_after = False
            while size < self._max_group_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop_after = True
                    break
                group.append(item)
                size += len(item[0].valid) + len(item[0].rejected)
            try:
                self._write(group)
            except Exception:  # never let the only writer die
                log.exception("ingest writer failed")
            finally:
                for _, future in group:
                    if not future.done():
                        future.set_exception(_failure())
            if stop_after:
                return

    def _write(self, group: list[tuple[Submission, Future[IngestResult]]]) -> None:
        # A waiter that gave up (its task was cancelled) still gets its events stored: they were
        # accepted into the queue, and a retry by the client is deduplicated. Only its answer is
        # dropped (a cancelled future takes none).
        waiting = {id(future): future.set_running_or_notify_cancel() for _, future in group}

        def answer(
            future: Future[IngestResult], result: IngestResult | None, error: Exception | None
        ) -> None:
            if not waiting[id(future)]:
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        try:
            results = self._service.commit([sub for sub, _ in group])
        except Exception:
            if len(group) == 1:
                log.exception("ingest transaction failed")
                answer(group[0][1], None, _failure())
                return
            # One request's data broke the group: write each alone so the others still land.
            for sub, future in group:
                try:
                    answer(future, self._service.commit([sub])[0], None)
                except Exception:
                    log.exception("ingest transaction failed")
                    answer(future, None, _failure())
            return
        for (_, future), result in zip(group, results, strict=True):
            answer(future, result, None)


def _failure() -> Exception:
    return RuntimeError("the events could not be stored")
