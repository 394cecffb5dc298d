"""The analytics use cases: refresh the columnar copy, attribute, import costs, returns, customers.

Reports run on DuckDB over the Parquet copy (``engine="duckdb"``, the default) or with SQL on the
capability's own touchpoint table (``engine="database"``); both hand the same rows to the same path
builder and models, so they give the same answers (tests hold both to it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from omnikanal.analytics import store
from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.costs import parse_costs
from omnikanal.analytics.duckdb_backend import DuckAttribution
from omnikanal.analytics.funnel import funnel
from omnikanal.analytics.model import Credit
from omnikanal.analytics.omnichannel import SegmentReader, omnichannel_answer, segment_members
from omnikanal.analytics.paths import Built, Window, build_paths
from omnikanal.analytics.query import Limits, Question, day_after, iso_duration, question
from omnikanal.analytics.returns import (
    add_own_costs,
    common_paths,
    costs_by_key,
    customer_groups,
    returns_rows,
    table,
)
from omnikanal.analytics.usage import Rates, own_costs
from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import InvalidInput, NotFound

ENGINES = ("duckdb", "database")
BACKENDS = ("duckdb", "spark")
COPY_BATCH = 50_000
COST_BATCH = 1_000
# the beginning of every customer's history (lifetime value reads all of it)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Config:
    limits: Limits
    currency: str
    engine: str
    max_cost_rows: int
    rates: Rates = field(default_factory=Rates)
    # what computes attribution over the columnar copy: DuckDB in-process or Spark (spark_backend.py)
    backend: str = "duckdb"
    spark_master: str = "local[2]"
    spark_memory: str = "1g"
    # lifetime value: the annual discount rate and the gross margin of its ``value``
    clv_discount_rate: float = 0.10
    gross_margin: float = 0.35


class Analytics:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: Config,
        columnar: Columnar,
        live_id: Callable[[str], str],
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.config = config
        self.columnar = columnar
        self._live_id = live_id
        # set by the composition root once the segments capability is built (ROPO per segment)
        self.segments: SegmentReader | None = None

    # -- keeping the copy current --------------------------------------------------------------

    def merged(self, conn: Connection, profile_ids: list[str], now: datetime) -> None:
        """Listener inside the ingest transaction of a merge: note the profiles, nothing more (the
        refresh job re-keys their touchpoints in the worker role)."""
        store.mark_merged(conn, profile_ids, now)

    def refresh(self, on_progress: Progress | None = None) -> dict[str, int]:
        """Re-key merged profiles' touchpoints, then append the new touchpoints to the columnar copy."""
        # The database's writes come first, outside the file lock: an erasure holds its write
        # transaction while it waits for the lock, so the lock is never held waiting for a write.
        rekeyed, merges = self._rekey()
        with self.columnar.writing():
            self.columnar.add_merges(merges)
            appended = 0
            while True:
                with read_tx(self._engine) as conn:
                    rows = store.copy_after(conn, self.columnar.last_seq(), COPY_BATCH)
                if not rows:
                    break
                appended += self.columnar.append(rows)
                if on_progress is not None:
                    on_progress(len(rows))
            return {"rekeyed": rekeyed, "appended": appended, "last_seq": self.columnar.last_seq()}

    def behind_total(self) -> int:
        """Touchpoints copied into the database but not yet into the columnar copy."""
        with read_tx(self._engine) as conn:
            return store.count_after(conn, self.columnar.last_seq())

    def _rekey(self) -> tuple[int, dict[str, str]]:
        with read_tx(self._engine) as conn:
            marked = store.merged(conn, 1000)
        pairs: dict[str, str | None] = {}
        for pid in marked:
            try:
                pairs[pid] = self._live_id(pid)
            except NotFound:
                pairs[pid] = None  # erased: its touchpoints went with the erasure

        def work(conn: Connection) -> int:
            return sum(store.rekey(conn, old, new or old) for old, new in pairs.items())

        count = run_write(self._engine, work) if pairs else 0
        return count, {old: new for old, new in pairs.items() if new and new != old}

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        removed = store.erase(conn, profile_ids)
        with self.columnar.writing():
            self.columnar.erase(profile_ids)
        return removed

    # -- reports -------------------------------------------------------------------------------

    def ask(self, **params: Any) -> Question:
        return question(self.config.limits, self._clock.now(), **params)

    def _engine_for(self, engine: str | None) -> str:
        chosen = engine or self.config.engine
        if chosen not in ENGINES:
            raise InvalidInput("invalid_engine", f"engine: one of {', '.join(ENGINES)}", "engine")
        return chosen

    def built(self, q: Question, engine: str | None = None) -> Built:
        if self._engine_for(engine) == "duckdb":
            if not self.columnar.conversion_exists(q.window.conversion):
                raise _no_conversion(q)
            columnar = self.columnar
            earlier = columnar.converted_before(q.window)
            return build_paths(columnar.path_rows(q.window), columnar.refunds(q.window), q.window, earlier)
        with read_tx(self._engine) as conn:
            if not store.conversion_exists(conn, q.window.conversion):
                raise _no_conversion(q)
            earlier = store.converted_before(conn, q.window)
            return build_paths(
                store.path_rows(conn, q.window), store.refunds(conn, q.window), q.window, earlier
            )

    def _head(self, q: Question, built: Built) -> dict[str, Any]:
        converted = [p for p in built.paths if p.converted]
        return self._head_of(q, len(converted), sum(p.value for p in converted), len(built.paths))

    def _head_of(self, q: Question, conversions: int, value: float, paths: int) -> dict[str, Any]:
        return {
            "dimension": q.dimension,
            "conversion": q.window.conversion,
            "since": isoformat(q.window.since),
            "until": isoformat(q.window.until),
            "lookback": iso_duration(q.window.lookback),
            "currency": self.config.currency,
            "conversions": conversions,
            "value": round(value, 2),
            "paths": paths,
        }

    def _backend_for(self, backend: str | None, engine: str | None) -> str:
        chosen = backend or self.config.backend
        if chosen not in BACKENDS:
            raise InvalidInput("invalid_backend", f"backend: one of {', '.join(BACKENDS)}", "backend")
        if chosen == "spark" and engine == "database":
            raise InvalidInput(
                "invalid_backend", "backend: spark reads the columnar copy, not the database", "backend"
            )
        return chosen

    def credited(
        self, q: Question, engine: str | None = None, backend: str | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Credit]]]:
        """The answer's head and each asked model's credit per key, on the chosen backend."""
        if self._backend_for(backend, engine) == "spark":
            # PySpark and its Java runtime are loaded only here, when Spark is asked for
            from omnikanal.analytics.spark_backend import SparkAttribution

            spark = SparkAttribution(self.columnar.folder, self.config.spark_master, self.config.spark_memory)
            return self._over_copy(q, spark.conversion_exists, spark.credited)
        if self._engine_for(engine) == "duckdb":  # paths and models as SQL inside DuckDB
            return self._over_copy(
                q, self.columnar.conversion_exists, DuckAttribution(self.columnar).credited
            )
        built = self.built(q, engine)
        return self._head(q, built), {m: attribute(built.paths, m, q.dimension, q.options) for m in q.models}

    def _over_copy(
        self, q: Question, exists: Callable[[str], bool], credited: Callable[[Question], Any]
    ) -> tuple[dict[str, Any], Any]:
        """The head and the credits of ``credited`` (which names the head's figures first)."""
        if not exists(q.window.conversion):
            raise _no_conversion(q)
        (conversions, value, paths), credits = credited(q)
        return self._head_of(q, conversions, value, paths), credits

    def attribution(
        self, q: Question, engine: str | None = None, backend: str | None = None
    ) -> dict[str, Any]:
        """Credit per key under one model, or (``model=all``) every model side by side."""
        head, credits = self.credited(q, engine, backend)
        tables = {m: table(credits[m], head["conversions"]) for m in q.models}
        if len(q.models) == 1:
            return {"model": q.models[0], **head, "rows": tables[q.models[0]]}
        keys = sorted({r["key"] for rows in tables.values() for r in rows})
        by_model = {m: {r["key"]: r for r in rows} for m, rows in tables.items()}
        empty = {"conversions": 0.0, "value": 0.0, "share": 0.0}
        rows = [
            {"key": k, "models": {m: {f: by_model[m].get(k, empty)[f] for f in empty} for m in q.models}}
            for k in keys
        ]
        return {"model": "all", "models": list(q.models), **head, "rows": rows}

    def returns(self, q: Question, engine: str | None = None) -> dict[str, Any]:
        """Per key and model: attributed revenue net of returns, cost, ROAS, ROI, cost per conversion."""
        if self._engine_for(engine) == "duckdb":  # paths and models as SQL inside DuckDB
            duck = DuckAttribution(self.columnar)
            head, (credits, firsts) = self._over_copy(q, self.columnar.conversion_exists, duck.acquired)
        else:
            built = self.built(q, engine)
            acquired = [p for p in built.paths if p.first]
            head, credits, firsts = (
                self._head(q, built),
                *(
                    {m: attribute(paths, m, q.dimension, q.options) for m in q.models}
                    for paths in (built.paths, acquired)
                ),
            )
        with read_tx(self._engine) as conn:
            cost_rows = store.costs(conn, q.window.since.astimezone(UTC).date(), day_after(q.window.until))
        spent = costs_by_key(cost_rows, q.dimension)
        if q.dimension in ("channel", "campaign"):  # own costs: by channel, and campaign when sent for one
            add_own_costs(spent, self.own_cost_lines(q.window.since, q.window.until), q.dimension)
        models = {m: returns_rows(credits[m], spent, firsts[m]) for m in q.models}
        return {
            **head,
            "cost": round(sum(v["cost_cents"] for v in spent.values()) / 100, 2),
            "models": models,
        }

    def customers(self, q: Question, engine: str | None = None) -> dict[str, Any]:
        built = self.built(q, engine)
        return {**self._head(q, built), "groups": customer_groups(built.customers)}

    def top_paths(self, q: Question, limit: int, engine: str | None = None) -> dict[str, Any]:
        built = self.built(q, engine)
        return {**self._head(q, built), "top": common_paths(built.paths, q.dimension, limit)}

    def lifetime_value(
        self,
        q: Question,
        horizon_days: int,
        engine: str | None = None,
        discount_rate: float | None = None,
        margin: float | None = None,
    ) -> dict[str, Any]:
        """Expected value per customer over the next ``horizon_days`` by acquisition key (BG/NBD
        with Gamma-Gamma, fitted on every customer's history up to ``until``): revenue undiscounted,
        and on the gross margin discounted at the annual rate (the settings' unless given)."""
        # NumPy and SciPy on first use: every process builds the hub, few fit a model (~50 MB)
        from omnikanal.analytics.lifetime import Basis, histories, lifetime_values

        basis = Basis(
            self.config.clv_discount_rate if discount_rate is None else discount_rate,
            self.config.gross_margin if margin is None else margin,
        )
        whole = Window(EPOCH, q.window.until, timedelta(0), q.window.conversion)
        if self._engine_for(engine) == "duckdb":
            if not self.columnar.conversion_exists(whole.conversion):
                raise _no_conversion(q)
            found = histories(
                self.columnar.path_rows(whole), self.columnar.refunds(whole), whole.conversion, q.dimension
            )
        else:
            with read_tx(self._engine) as conn:
                if not store.conversion_exists(conn, whole.conversion):
                    raise _no_conversion(q)
                found = histories(
                    store.path_rows(conn, whole), store.refunds(conn, whole), whole.conversion, q.dimension
                )
        fitted, rows = lifetime_values(found, q.window.until, float(horizon_days), basis)
        models = None
        if fitted is not None:
            bg, gg = fitted.purchases, fitted.spend
            models = {
                "bg_nbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b},
                "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v},
            }
        return {
            "dimension": q.dimension,
            "conversion": whole.conversion,
            "until": isoformat(q.window.until),
            "horizon_days": horizon_days,
            "currency": self.config.currency,
            "value_basis": basis.describe(),
            "customers": len(found),
            "models": models,
            "note": None if fitted else "too few customers or repeat buyers to fit the models",
            "rows": rows,
        }

    def omnichannel(self, q: Question, days: int, segment: str | None = None) -> dict[str, Any]:
        """Research online, purchase offline within ``days``, and channel preference per category
        (on the capability's own product table); with a segment, of its current members, and the
        ROPO of everyone else beside it."""
        since, until = q.window.since, q.window.until
        chosen = segment_members(self.segments, segment) if segment is not None else None
        with read_tx(self._engine) as conn:
            rows = store.product_rows(conn, since - timedelta(days=days), until)
        head = {"since": isoformat(since), "until": isoformat(until), "currency": self.config.currency}
        return {**head, **omnichannel_answer(rows, since, days, chosen)}

    def funnel(self, q: Question, steps: Sequence[str], engine: str | None = None) -> dict[str, Any]:
        """People who took each step in order within the period, and who dropped out after each."""
        window = Window(q.window.since, q.window.until, timedelta(0), q.window.conversion)
        if self._engine_for(engine) == "duckdb":
            answer = funnel(self.columnar.path_rows(window), steps)
        else:
            with read_tx(self._engine) as conn:
                answer = funnel(store.path_rows(conn, window), steps)
        return {"since": isoformat(window.since), "until": isoformat(window.until), "steps": answer}

    # -- costs ---------------------------------------------------------------------------------

    def own_cost_lines(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The hub's own costs of the period: its messages and staff time, and the fixed costs."""
        with read_tx(self._engine) as conn:
            rows = store.usage(conn, since, until)
        return own_costs(rows, self.config.rates, since.astimezone(UTC).date(), day_after(until))

    def own_costs(self, since: datetime, until: datetime) -> dict[str, Any]:
        lines = self.own_cost_lines(since, until)
        return {
            "since": isoformat(since),
            "until": isoformat(until),
            "currency": self.config.currency,
            "cost": round(sum(line["cost"] for line in lines), 2),
            "lines": lines,
        }

    def import_costs(self, text: str, origin: str, on_progress: Progress | None = None) -> dict[str, Any]:
        """Store every valid row (a newer figure for a day and key replaces the older one) and name
        each invalid row's line and field."""
        parsed = parse_costs(text, self.config.currency, self.config.max_cost_rows)
        now = self._clock.now()
        for start in range(0, len(parsed.rows), COST_BATCH):
            chunk = [
                {**r, "origin": origin[:300], "imported_at": now}
                for r in parsed.rows[start : start + COST_BATCH]
            ]
            run_write(self._engine, lambda conn, rows=chunk: store.upsert_costs(conn, rows))  # type: ignore[misc]
            if on_progress is not None:
                on_progress(len(chunk))
        return {"rows": parsed.lines, "imported": len(parsed.rows), "errors": parsed.errors}

    def list_costs(self, since: datetime, until: datetime, limit: int) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            rows = store.costs(conn, since.astimezone(UTC).date(), day_after(until))
        return {
            "costs": [
                {
                    "date": r.day.isoformat(),
                    "channel": r.channel or None,
                    "source": r.source or None,
                    "medium": r.medium or None,
                    "campaign": r.campaign or None,
                    "cost": r.cost_cents / 100,
                    "currency": r.currency,
                    "clicks": r.clicks,
                    "impressions": r.impressions,
                    "from": r.origin,
                }
                for r in rows[:limit]
            ],
            "truncated": len(rows) > limit,
        }


def _no_conversion(q: Question) -> InvalidInput:
    name = q.window.conversion
    return InvalidInput(
        "unknown_conversion", f"conversion: no {name!r} event has been recorded", "conversion"
    )
