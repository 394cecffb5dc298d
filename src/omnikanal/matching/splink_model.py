"""The Fellegi-Sunter model, through Splink on an in-process DuckDB.

Why these comparisons (docs/matching.md says more):
- names: Jaro-Winkler levels (typos near the end cost less, as in hand-written cards) with term
  frequencies, so agreeing on "mueller" counts less than agreeing on "oeztuerk";
- birth date: Splink's date-of-birth comparison (exact, one typo, within a month / a year);
- email: exact, same user name at another provider, near-miss of the user name;
- phone (E.164): exact, or one or two digits off;
- postcode: exact, or one digit off; city and street: Jaro-Winkler levels.
Blocking: pairs are only formed among records that share an email, a phone, a last name with the
first name, a birth date with the first letter of the first name, or a postcode with the first letter
of the last name: most duplicates keep at least one of these intact, and a block stays small
while names are as varied as real ones.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from omnikanal.matching.card import FIELDS
from omnikanal.matching.pairs import ScoredPair

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import splink
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

SPLINK_VERSION = splink.__version__
TF_FIELDS = ("first_name", "last_name", "email")

BLOCKING = (
    block_on("email"),
    block_on("phone"),
    block_on("last_name", "first_name"),
    block_on("birth_date", "substr(first_name, 1, 1)"),
    block_on("postcode", "substr(last_name, 1, 1)"),
)
# EM fixes the parameters of the comparisons outside the blocking key of each round.
TRAINING_BLOCKS = (
    block_on("last_name", "first_name"),
    block_on("birth_date"),
    block_on("postcode", "street"),
)


# A backend: registers the columns of the records with a Splink database API, answering both
# (DuckDB here; spark_backend.py gives Spark's).
Register = Callable[[dict[str, list[Any]]], tuple[Any, Any]]


def in_duckdb(columns: dict[str, list[Any]]) -> tuple[Any, Any]:
    db = DuckDBAPI()
    return db, db.register(columns)


class ModelMismatch(ValueError):
    """A stored model that does not fit the data (other columns, other Splink version)."""


def settings(prior: float = 1e-4) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        probability_two_random_records_match=prior,
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.EmailComparison("email"),
            cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.JaroWinklerAtThresholds("street", [0.95, 0.85]),
        ],
        blocking_rules_to_generate_predictions=list(BLOCKING),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def with_frequencies(
    rows: Sequence[Mapping[str, Any]],
    counts: Mapping[str, Counter[str]] | None = None,
    total: int | None = None,
) -> dict[str, list[Any]]:
    """The rows as columns, with the term frequency of each name (from ``counts``, else the rows)."""
    counts = counts or {f: Counter(r[f] for r in rows if r.get(f)) for f in TF_FIELDS}
    total = total or max(len(rows), 1)
    columns: dict[str, list[Any]] = {"profile_id": [r["profile_id"] for r in rows]}
    for field in FIELDS:
        columns[field] = [r.get(field) for r in rows]
    for field in TF_FIELDS:
        columns[f"tf_{field}"] = [
            (counts[field].get(r[field], 1) / total) if r.get(field) else None for r in rows
        ]
    return columns


def _linker(db: Any, tables: Sequence[Any], model: Mapping[str, Any] | SettingsCreator) -> Linker:
    try:
        return Linker(
            list(tables) if len(tables) > 1 else tables[0],
            dict(model) if isinstance(model, Mapping) else model,
            log_level=40,
        )
    except Exception as exc:  # Splink raises plain exceptions for settings that do not fit the data
        raise ModelMismatch(f"the matching model does not fit: {exc}") from exc


def _prepared(
    rows: Sequence[Mapping[str, Any]], model: Mapping[str, Any] | SettingsCreator, register: Register
) -> tuple[Any, Linker]:  # the database API and the linker
    """A linker over the rows, with the rows' name frequencies as Splink's term frequency lookups.

    The frequencies go in as lookup tables, not as ``tf_`` columns of the input: Splink joins its
    own frequency columns to the input as well, which DuckDB tolerates (the input's win) and Spark
    refuses as an ambiguous column."""
    columns = with_frequencies(rows)
    frequencies = {f: columns.pop(f"tf_{f}") for f in TF_FIELDS}
    db, table = register(columns)
    if not isinstance(model, SettingsCreator):
        model = _clean(model, db.sql_dialect.sql_dialect_str)
    linker = _linker(db, [table], model)
    for field in TF_FIELDS:
        lookup = {v: tf for v, tf in zip(columns[field], frequencies[field], strict=True) if v and tf}
        if lookup:  # a field empty in every row: nothing to look up
            table = db.register({field: list(lookup), f"tf_{field}": list(lookup.values())})
            linker.table_management.register_term_frequency_lookup(table, field)
    return db, linker


def train(
    rows: Sequence[Mapping[str, Any]],
    seed: int = 42,
    max_pairs: float = 2e6,
    register: Register = in_duckdb,
) -> dict[str, Any]:
    """Estimate the model without labels: u from random pairs, m by expectation maximisation."""
    _, linker = _prepared(rows, settings(), register)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linker.training.estimate_probability_two_random_records_match(
            [block_on("email"), block_on("phone"), block_on("first_name", "last_name", "birth_date")],
            recall=0.7,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for rule in TRAINING_BLOCKS:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
    model = linker.misc.save_model_to_json()
    model["omnikanal"] = {"splink_version": SPLINK_VERSION, "fields": list(FIELDS), "records": len(rows)}
    return model


def check(model: Mapping[str, Any]) -> None:
    meta = model.get("omnikanal")
    if not isinstance(meta, Mapping) or list(meta.get("fields", ())) != list(FIELDS):
        raise ModelMismatch("the matching model was made for other fields; train it again")


def _pairs(frame: Any) -> list[ScoredPair]:
    table = frame.as_record_list()
    out = []
    for row in table:
        contributions: dict[str, float] = {}
        for field in FIELDS:
            weight = row.get(f"mw_{field}")
            if weight is not None:
                contributions[field] = round(float(weight) + float(row.get(f"mw_tf_adj_{field}") or 0.0), 3)
        left, right = sorted((row["profile_id_l"], row["profile_id_r"]))
        out.append(
            ScoredPair(
                left, right, float(row["match_probability"]), float(row["match_weight"]), contributions
            )
        )
    return out


def _clean(model: Mapping[str, Any], dialect: str = "duckdb") -> dict[str, Any]:
    check(model)
    return {k: v for k, v in in_dialect(model, dialect).items() if k != "omnikanal"}


def in_dialect(model: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """The model with its SQL in another engine's dialect (a model trained on DuckDB scored on
    Spark, or the other way round): Splink keeps each level's condition as SQL text of the engine
    it was trained on, so the settings are made again for ``dialect`` and the trained parameters
    (the prior, every level's m and u) are carried over, level by level."""
    if model.get("sql_dialect", dialect) == dialect:
        return dict(model)
    fresh = settings().create_settings_dict(dialect)
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    trained = model.get("comparisons", [])
    if len(trained) != len(fresh["comparisons"]):
        raise ModelMismatch("the matching model has other comparisons; train it again")
    for new, old in zip(fresh["comparisons"], trained, strict=True):
        levels = old.get("comparison_levels", [])
        labels = [lv.get("label_for_charts") for lv in levels]
        if labels != [lv.get("label_for_charts") for lv in new["comparison_levels"]]:
            raise ModelMismatch(f"the matching model's {new['output_column_name']} levels differ")
        for level, was in zip(new["comparison_levels"], levels, strict=True):
            for key in ("m_probability", "u_probability"):
                if key in was:
                    level[key] = was[key]
    fresh["sql_dialect"] = dialect
    if "omnikanal" in model:
        fresh["omnikanal"] = model["omnikanal"]
    return fresh


def score_within(
    rows: Sequence[Mapping[str, Any]],
    model: Mapping[str, Any],
    threshold: float,
    register: Register = in_duckdb,
) -> list[ScoredPair]:
    """Every candidate pair among the rows at or above ``threshold``."""
    if len(rows) < 2:
        return []
    _, linker = _prepared(rows, model, register)
    return _pairs(linker.inference.predict(threshold_match_probability=threshold))


def score_between(
    new: Sequence[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    model: Mapping[str, Any],
    threshold: float,
    counts: Mapping[str, Counter[str]],
    total: int,
) -> list[ScoredPair]:
    """The new rows against the existing ones and each other, with the hub's name frequencies."""
    if not new:
        return []
    db = DuckDBAPI()
    new_ids = {n["profile_id"] for n in new}
    others = [r for r in existing if r["profile_id"] not in new_ids]
    new_table = db.register(_columns(new))
    linker = _linker(db, [new_table], _clean(model))
    # Term frequencies of the whole hub, not of this handful of rows, so that scores agree with a
    # full run.
    for field in TF_FIELDS:
        values = {r[field] for r in [*new, *others] if r.get(field)}
        lookup = {
            field: sorted(values),
            f"tf_{field}": [counts[field].get(v, 1) / max(total, 1) for v in sorted(values)],
        }
        linker.table_management.register_term_frequency_lookup(db.register(lookup), field)
    frames = []
    if others:
        old_table = db.register(_columns(others))
        frames.append(
            linker.inference.predict_between(
                new_table, old_table, threshold_match_probability=threshold, warning_mode="never"
            )
        )
    if len(new) > 1:
        frames.append(
            linker.inference.predict_within(
                new_table, threshold_match_probability=threshold, warning_mode="never"
            )
        )
    found: dict[tuple[str, str], ScoredPair] = {}
    for frame in frames:
        for pair in _pairs(frame):
            found[(pair.left, pair.right)] = pair
    return list(found.values())


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {"profile_id": [r["profile_id"] for r in rows]}
    for field in FIELDS:
        columns[field] = [r.get(field) for r in rows]
    return columns


def name_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    return {f: Counter(r[f] for r in rows if r.get(f)) for f in TF_FIELDS}
