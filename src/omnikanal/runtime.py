"""Process-wide tuning shared by the serving and the worker processes."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Keep the collector's full passes off the request path of a long-running server.

    Everything alive after start-up (modules, SQLAlchemy's caches) is moved out of the collector's
    view, and young objects are collected less eagerly: a full pass over hundreds of thousands of
    objects otherwise stalls a request for tens of milliseconds.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
