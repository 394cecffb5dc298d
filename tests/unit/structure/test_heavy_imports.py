"""Every process builds the hub: the large libraries of a few jobs are imported on first use.

DuckDB, pyarrow, Splink, NumPy, SciPy, implicit and PySpark took tens of MB each in an API or a
worker process that never computes a report, a match, a model or a lifetime value.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("duckdb", "pyarrow", "splink", "numpy", "scipy", "implicit", "pyspark")


def test_importing_the_hub_and_the_app_loads_none_of_the_heavy_libraries() -> None:
    code = (
        "import sys, omnikanal.hub, omnikanal.app, omnikanal.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""
