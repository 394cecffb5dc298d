"""Attribution of every model on DuckDB and on Spark: ``python -m bench.attribution [--paths N]``.

Generates N paths (default 1,000,000; 1 to 6 touchpoints over eight channels, about 40 %
converting: ``bench.analytics.make_paths``), writes them as Parquet parts of a columnar copy in a
temporary folder, then times, on each backend, building the paths from the files and crediting
them under every model (Markov of order 1 to 3) by channel. Prints a table of seconds and paths a
second per step, the peak memory (RSS) of this process and of Spark's Java process, and the largest
difference between the two backends' credits. Figures only, nothing passes or fails; no database
and no server are involved.

DuckDB: DuckDB reads the files, the paths are built and credited in this process (what a report
does). Spark: the paths are cut and the rule-based models aggregated on a local session
(``--spark-master``, ``--spark-memory``); the distinct paths are collected once for the Markov and
Shapley models, computed on the driver (omnikanal.analytics.spark_backend).
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, suppress
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Any

import psutil

from bench.analytics import T0, _rows, make_paths
from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.duckdb_backend import RULE_MODELS, DuckAttribution
from omnikanal.analytics.model import MODELS, Credit, Options
from omnikanal.analytics.paths import Window, build_paths

CHUNK = 100_000  # paths generated and written per Parquet part
STEPS = ("paths", *(m for m in MODELS if m != "markov"), "markov (order 1)", "markov (order 2)")
STEPS += ("markov (order 3)",)


def _model(step: str) -> tuple[str, Options]:
    if step.startswith("markov"):
        return "markov", Options(markov_order=int(step[-2]))
    return step, Options()


def write_copy(folder: FilePath, count: int, seed: int) -> tuple[int, int]:
    """The generated paths as Parquet parts; returns the touchpoints and conversions written."""
    columnar, seq, rows_written, conversions = Columnar(folder), 0, 0, 0
    for start in range(0, count, CHUNK):
        paths = make_paths(min(CHUNK, count - start), seed + start)
        paths = [dataclasses.replace(p, profile_id=f"c{start}-{p.profile_id}") for p in paths]
        rows = _rows(paths)
        for row in rows:
            row.seq += seq
            if row.order_id:
                row.order_id = f"o{row.seq}"
        seq = rows[-1].seq
        columnar.append(rows)
        rows_written += len(rows)
        conversions += sum(p.converted for p in paths)
    return rows_written, conversions


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def run_duckdb(folder: FilePath, window: Window) -> tuple[dict[str, float], dict[str, dict[str, Credit]]]:
    """The paths cut and the models computed in SQL inside DuckDB (what a report does)."""
    times: dict[str, float] = {}
    credits: dict[str, dict[str, Credit]] = {}
    with ExitStack() as stack:
        took, built = _timed(lambda: stack.enter_context(DuckAttribution(Columnar(folder)).paths(window)))
        times["paths"] = took
        for step in STEPS[1:]:
            model, options = _model(step)
            times[step], credits[step] = _timed(
                lambda m=model, o=options: built.credits((m,), "channel", o)[m]
            )
        times["rule models at once"], _ = _timed(lambda: built.rules(RULE_MODELS, "channel", Options()))
    return times, credits


def run_python(folder: FilePath, window: Window) -> tuple[dict[str, float], dict[str, dict[str, Credit]]]:
    """The rows read from DuckDB and cut into paths in Python, the models over the paths (the
    way before the SQL one, for comparison)."""
    columnar = Columnar(folder)
    took, built = _timed(lambda: build_paths(columnar.path_rows(window), columnar.refunds(window), window))
    times, credits = {"paths": took}, {}
    for step in STEPS[1:]:
        model, options = _model(step)
        times[step], credits[step] = _timed(
            lambda m=model, o=options: attribute(built.paths, m, "channel", o)
        )
    return times, credits


def run_spark(
    folder: FilePath, window: Window, master: str, memory: str
) -> tuple[dict[str, float], dict[str, dict[str, Credit]]]:
    from omnikanal.analytics.spark_backend import SparkAttribution
    from omnikanal.spark import session

    session(master, memory)  # started before the clock runs: a long-lived process has it already
    spark = SparkAttribution(folder, master, memory)
    times: dict[str, float] = {}
    credits: dict[str, dict[str, Credit]] = {}
    with spark.paths(window) as built:
        times["paths"], _ = _timed(built.head)  # cutting the paths, persisted on the executors
        times["distinct paths"], _ = _timed(lambda: built.walks("channel"))
        for step in STEPS[1:]:
            model, options = _model(step)
            times[step], credits[step] = _timed(lambda m=model, o=options: built.credit(m, "channel", o))
    return times, credits


def _difference(ours: dict[str, dict[str, Credit]], theirs: dict[str, dict[str, Credit]]) -> float:
    worst = 0.0
    for step, credit in ours.items():
        for key in set(credit) | set(theirs[step]):
            a, b = credit.get(key, Credit()), theirs[step].get(key, Credit())
            worst = max(worst, abs(a.conversions - b.conversions), abs(a.value - b.value))
    return worst


def _java_rss() -> float:
    """The peak resident memory (VmHWM) of this process's Java child (Spark's JVM), in MB."""
    sizes = [0]
    for child in psutil.Process().children(recursive=True):
        with suppress(psutil.Error, OSError):
            if "java" in child.name():
                status = FilePath(f"/proc/{child.pid}/status").read_text()
                sizes += [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(sizes) / 1024


def _cell(seconds: float | None, paths: int) -> str:
    if seconds is None:
        return f"{'-':>9} {'':>12}"
    return f"{seconds:8.2f}s {paths / seconds:12,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attribution")
    parser.add_argument("--paths", type=int, default=1_000_000, help="generated paths (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-memory", default="2g", help="Spark driver memory (default 2g)")
    parser.add_argument("--no-spark", action="store_true", help="measure DuckDB only")
    parser.add_argument(
        "--python-paths",
        action="store_true",
        help="on DuckDB, cut the paths and run the models in Python (the way before the SQL one)",
    )
    args = parser.parse_args()
    window = Window(T0, T0 + timedelta(days=40), timedelta(days=30))
    with tempfile.TemporaryDirectory() as name:
        folder = FilePath(name)
        # written by a child process, so the peak memory measured below is the attribution's
        with ProcessPoolExecutor(1) as pool:
            took, (touchpoints, conversions) = _timed(
                lambda: pool.submit(write_copy, folder, args.paths, args.seed).result()
            )
        print(
            f"{args.paths:,} paths, {touchpoints:,} touchpoints, {conversions:,} conversions "
            f"(Parquet written in {took:.1f} s)"
        )
        duck_times, duck = (run_python if args.python_paths else run_duckdb)(folder, window)
        duck_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        spark_times: dict[str, float] = {}
        spark: dict[str, dict[str, Credit]] = {}
        java_rss = 0.0
        if not args.no_spark:
            spark_times, spark = run_spark(folder, window, args.spark_master, args.spark_memory)
            java_rss = _java_rss()
    print(f"{'step':<22} {'DuckDB':>9} {'paths/s':>12}   {'Spark':>9} {'paths/s':>12}")
    for step in ("paths", "distinct paths", *STEPS[1:]):
        print(
            f"{step:<22} {_cell(duck_times.get(step), args.paths)}   "
            f"{_cell(spark_times.get(step), args.paths)}"
        )
    together = duck_times.pop("rule models at once", None)
    print(
        f"{'all models':<22} {_cell(sum(duck_times.values()), args.paths)}   "
        f"{_cell(sum(spark_times.values()) or None, args.paths)}"
    )
    if together is not None:
        print(f"{'rule models at once':<22} {_cell(together, args.paths)} (a report runs them in one query)")
    print(f"peak RSS: this process {duck_rss:,.0f} MB (after DuckDB), Spark's JVM {java_rss:,.0f} MB")
    if spark:
        print(f"largest difference between the backends' credits: {_difference(spark, duck):.2e}")


if __name__ == "__main__":
    main()
