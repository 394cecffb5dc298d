"""The numbers behind a chart, as a table: a screen reader cannot read a canvas, and staff who want
the exact figure should not have to hover over a bar.

Made from the plotly.js figure the page draws, so the table and the chart cannot disagree.
"""

from __future__ import annotations

from typing import Any


def table(figure: dict[str, Any], first_column: str, value_column: str = "") -> dict[str, Any]:
    """``{"columns": [...], "rows": [[label, value, ...], ...]}`` of a figure's traces.

    Pies: one row per slice. Lines and bars: one row per x value (a day, a channel), one column per
    trace (its name; an unnamed trace is headed ``value_column``).
    """
    traces = figure.get("data", [])
    if traces and traces[0].get("type") == "pie":
        pie = traces[0]
        rows = [list(r) for r in zip(pie["labels"], pie["values"], strict=True)]
        return {"columns": [first_column, value_column], "rows": rows}
    xs: list[Any] = []
    for trace in traces:
        xs.extend(x for x in trace.get("x", []) if x not in xs)
    values = [dict(zip(trace.get("x", []), trace.get("y", []), strict=True)) for trace in traces]
    return {
        "columns": [first_column, *(str(trace.get("name") or value_column) for trace in traces)],
        "rows": [[x, *(v.get(x, 0) for v in values)] for x in xs],
    }
