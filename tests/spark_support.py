"""The local Spark session for tests: skips with the reason when PySpark or Java cannot start it,
except under CI=true, where Spark must start (CI has Java), as for Chromium and PostgreSQL."""

from __future__ import annotations

import os

import pytest

from omnikanal.spark import SparkUnavailable, session

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def spark_session() -> object:
    try:
        return session()
    except SparkUnavailable as exc:
        if IN_CI:
            pytest.fail(f"CI needs Spark: {exc}")
        pytest.skip(str(exc))
