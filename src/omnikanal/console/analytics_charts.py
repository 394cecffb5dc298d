"""The analysis page's Sankey diagram of the paths to purchase, as a plotly.js figure (data only;
the console's script draws it with the plotly.js bundle the hub serves).

A node is a key at a step of the path ("web" as first touch, "web" as second, ...), and the last
step of every path flows into "purchase": so the diagram reads left to right like the paths in
the table behind it, and a flow's width is the purchases that took it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

MAX_STEPS = 5  # later touches are folded into the fifth column


def sankey(paths: Sequence[dict[str, Any]], purchase_label: str) -> dict[str, Any]:
    nodes: dict[tuple[int, str], int] = {}
    flows: dict[tuple[int, int], float] = {}

    def node(step: int, key: str) -> int:
        return nodes.setdefault((step, key), len(nodes))

    end = (-1, purchase_label)
    for path in paths:
        keys = list(path["path"])[:MAX_STEPS] or ["(none)"]
        ids = [node(i, k) for i, k in enumerate(keys)] + [node(*end)]
        for a, b in pairwise(ids):
            flows[(a, b)] = flows.get((a, b), 0) + path["conversions"]
    labels = [f"{i + 1}. {k}" if i >= 0 else k for (i, k) in nodes]
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {"label": labels, "pad": 14, "thickness": 14},
                "link": {
                    "source": [a for a, _ in flows],
                    "target": [b for _, b in flows],
                    "value": list(flows.values()),
                },
            }
        ],
        "layout": {
            "height": 420,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "font": {"family": "system-ui, sans-serif"},
        },
    }
