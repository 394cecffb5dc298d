"""A condition as one SQL statement over all profiles (batch computation of a new or changed segment).

Event aggregates become grouped subqueries (one scan of the events per leaf, joined to the profiles),
the rest are expressions on the profile row. JSON is read with each engine's own functions
(``json_type``/``json_extract`` on SQLite, ``jsonb_typeof``/``#>>`` on PostgreSQL), and every comparison
first checks the JSON type, as ``model.compare`` does in Python. Strings compare in code-point order
(``COLLATE "C"`` on PostgreSQL, SQLite's binary order). Restricted profiles are never selected.
Values travel as bound parameters; names and keys only as parameters too, never in the SQL text.
"""

# The SQL text is assembled from fixed fragments; every value and name is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnikanal.segments.model import (
    All,
    AnyOf,
    Channels,
    Compare,
    Computed,
    Condition,
    Consent,
    EventCount,
    IdentifierLeaf,
    Not,
    PropertyFilter,
    Trait,
)

SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(slots=True)
class _Json:
    """A JSON value inside a column, reached by a path of keys (empty: the column itself)."""

    column: str
    path: tuple[str, ...]


@dataclass(slots=True)
class _Sql:
    pg: bool
    time: Callable[[datetime], Any]
    now: datetime
    system_source: str
    computed_functions: dict[str, str]
    ctes: list[str] = field(default_factory=list)
    cte_params: list[Any] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    join_params: list[Any] = field(default_factory=list)
    uses_family: bool = False
    memo: dict[int, str] = field(default_factory=dict)
    anchor: tuple[str, list[Any]] | None = None

    @property
    def p(self) -> str:
        return "%s" if self.pg else "?"

    # -- JSON access

    def _path(self, ref: _Json) -> Any:
        if self.pg:
            return list(ref.path)
        return "$" + "".join(f'."{k}"' for k in ref.path)

    def jtype(self, ref: _Json, params: list[Any]) -> str:
        if self.pg:
            if not ref.path:
                return f"jsonb_typeof({ref.column})"
            params.append(self._path(ref))
            return f"jsonb_typeof({ref.column} #> {self.p}::text[])"
        params.append(self._path(ref))
        return f"json_type({ref.column}, {self.p})"

    def jtext(self, ref: _Json, params: list[Any]) -> str:
        if self.pg:
            if not ref.path:
                return f"({ref.column} #>> '{{}}')"
            params.append(self._path(ref))
            return f"({ref.column} #>> {self.p}::text[])"
        params.append(self._path(ref))
        return f"json_extract({ref.column}, {self.p})"

    def is_kind(self, ref: _Json, kind: str, params: list[Any]) -> str:
        names = {
            "number": ("'number'",) if self.pg else ("'integer'", "'real'"),
            "string": ("'string'",) if self.pg else ("'text'",),
            "bool": ("'boolean'",) if self.pg else ("'true'", "'false'"),
        }[kind]
        return f"{self.jtype(ref, params)} IN ({', '.join(names)})"

    def scalar_test(self, ref: _Json, op: str, value: Any, params: list[Any]) -> str:
        """stored <op> value, false when the stored value is missing or of another JSON type."""
        sql_op = SQL_OPS[op]
        if isinstance(value, bool):
            if self.pg:
                kind = self.is_kind(ref, "bool", params)
                text = self.jtext(ref, params)
                params.append("true" if value else "false")
                return f"({kind} AND {text} {sql_op} {self.p})"
            wanted = "'true'" if value else "'false'"
            other = "'false'" if value else "'true'"
            return f"({self.jtype(ref, params)} = {wanted if op == 'eq' else other})"
        if isinstance(value, str):
            kind = self.is_kind(ref, "string", params)
            text = self.jtext(ref, params)
            params.append(value)
            collate = ' COLLATE "C"' if self.pg else ""
            return f"({kind} AND {text}{collate} {sql_op} {self.p})"
        if self.pg:
            # CASE keeps PostgreSQL from casting a non-number: AND does not fix the order of evaluation
            kind = self.is_kind(ref, "number", params)
            text = self.jtext(ref, params)
            params.append(float(value))
            return f"(CASE WHEN {kind} THEN {text}::float8 {sql_op} {self.p} ELSE FALSE END)"
        kind = self.is_kind(ref, "number", params)
        text = self.jtext(ref, params)
        params.append(value)
        return f"({kind} AND {text} {sql_op} {self.p})"

    def compare(self, ref: _Json, cmp: Compare, params: list[Any]) -> str:
        # two-valued: a missing JSON value gives NULL in SQL, which NOT would keep NULL
        return f"COALESCE({self._compare(ref, cmp, params)}, FALSE)"

    def _compare(self, ref: _Json, cmp: Compare, params: list[Any]) -> str:
        if cmp.op == "exists":
            test = f"COALESCE({self.jtype(ref, params)}, 'null') <> 'null'"
            return f"({test})" if cmp.value else f"(NOT ({test}))"
        if cmp.op == "in":
            parts = [self.scalar_test(ref, "eq", v, params) for v in cmp.value]
            return "(" + " OR ".join(parts) + ")"
        if cmp.op == "contains":
            kind = self.is_kind(ref, "string", params)
            text = self.jtext(ref, params)
            params.append(cmp.value)
            fn = "strpos" if self.pg else "instr"
            return f"({kind} AND {fn}({text}, {self.p}) > 0)"
        return self.scalar_test(ref, cmp.op, cmp.value, params)

    # -- leaves

    def filters(self, where: tuple[PropertyFilter, ...], params: list[Any]) -> str:
        return "".join(
            f" AND {self.compare(_Json('e.payload', ('properties', f.key)), f.compare, params)}"
            for f in where
        )

    def event_count(self, node: EventCount) -> str:
        """The count of an event leaf per profile (one grouped subquery per leaf, made once)."""
        made = self.memo.get(id(node))
        if made is not None:
            return made
        params: list[Any] = [node.name]
        conditions = f" AND e.type = 'track' AND e.event = {self.p}"
        conditions += self.window(node.window_seconds, params)
        conditions += self.filters(node.where, params)
        count = self.aggregate("COUNT(*)", conditions, params)
        self.memo[id(node)] = count
        return count

    def aggregate(self, select: str, conditions: str, params: list[Any]) -> str:
        name = f"a{len(self.ctes)}"
        if self.anchor is not None:
            # only profiles that pass the anchor leaf can be members: count nobody else's events
            anchor_sql, anchor_params = self.anchor
            conditions += f" AND e.profile_id IN (SELECT profile_id FROM a0 WHERE {anchor_sql})"
            params = [*params, *anchor_params]
        self.ctes.append(
            f"{name} AS (SELECT e.profile_id AS profile_id, {select} AS n FROM events e "
            f"WHERE e.source_id <> {self.p}{conditions} GROUP BY e.profile_id)"
        )
        self.cte_params.extend([self.system_source, *params])
        self.joins.append(f"LEFT JOIN {name} ON {name}.profile_id = p.id")
        return f"COALESCE({name}.n, 0)"

    def window(self, seconds: int | None, params: list[Any]) -> str:
        if seconds is None:
            return ""
        params.append(self.time(self.now - timedelta(seconds=seconds)))
        return f" AND e.timestamp >= {self.p}"

    def bounds(self, count: str, low: int | None, high: int | None, params: list[Any]) -> str:
        parts = []
        if low is not None:
            parts.append(f"{count} >= {self.p}")
            params.append(low)
        if high is not None:
            parts.append(f"{count} <= {self.p}")
            params.append(high)
        return "(" + " AND ".join(parts) + ")"

    def node(self, node: Condition, params: list[Any]) -> str:
        if isinstance(node, All | AnyOf):
            joiner = " AND " if isinstance(node, All) else " OR "
            return "(" + joiner.join(self.node(item, params) for item in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.item, params)})"
        if isinstance(node, Trait):
            return self.compare(_Json("p.traits", (node.key, "value")), node.compare, params)
        if isinstance(node, Computed):
            alias = f"c{len(self.joins)}"
            self.joins.append(
                f"LEFT JOIN computed_traits {alias} ON {alias}.profile_id = p.id AND {alias}.name = {self.p}"
            )
            self.join_params.append(node.name)
            if self.computed_functions.get(node.name) == "days_since_last":
                return self.days_since(alias, node.compare, params)
            return self.compare(_Json(f"{alias}.value", ("v",)), node.compare, params)
        if isinstance(node, Consent):
            self.uses_family = True
            collate = ' COLLATE "C"' if self.pg else ""
            params.extend([node.purpose, node.status])
            return (
                "EXISTS (SELECT 1 FROM fam f JOIN consent_state cs ON cs.profile_id = f.id "
                f"WHERE f.live = p.id AND cs.purpose = {self.p} AND cs.status = {self.p} AND NOT EXISTS ("
                "SELECT 1 FROM fam f2 JOIN consent_state cs2 ON cs2.profile_id = f2.id "
                "WHERE f2.live = p.id AND cs2.purpose = cs.purpose AND (cs2.occurred_at > cs.occurred_at "
                f"OR (cs2.occurred_at = cs.occurred_at AND cs2.record_id{collate} > cs.record_id))))"
            )
        if isinstance(node, IdentifierLeaf):
            params.append(node.type)
            test = f"EXISTS (SELECT 1 FROM identities i WHERE i.profile_id = p.id AND i.type = {self.p})"
            return test if node.exists else f"(NOT {test})"
        if isinstance(node, EventCount):
            return self.bounds(self.event_count(node), node.min, node.max, params)
        if isinstance(node, Channels):
            agg_params: list[Any] = []
            conditions = self.window(node.window_seconds, agg_params)
            count = self.aggregate("COUNT(DISTINCT e.channel)", conditions, agg_params)
            return self.bounds(count, node.min, node.max, params)
        raise TypeError(f"unknown condition {node!r}")

    def days_since(self, alias: str, cmp: Compare, params: list[Any]) -> str:
        """Whole days since the stored epoch seconds, as evaluate.readable_days counts them."""
        ref = _Json(f"{alias}.value", ("v",))
        now = self.now.timestamp()

        def days() -> str:
            # parameters are added in the order they appear in the text
            text = self.jtext(ref, params)
            params.append(now)
            if self.pg:
                return f"floor(({text}::float8 - {self.p}) / -86400.0)"
            # SQLite may lack floor(): truncate, then step down for negative fractions (x appears
            # three times, each with its own parameters)
            xs = [f"(({text} - {self.p}) / -86400.0)"]
            for _ in range(2):
                again = self.jtext(ref, params)
                params.append(now)
                xs.append(f"(({again} - {self.p}) / -86400.0)")
            return f"(CAST({xs[0]} AS INTEGER) - (CAST({xs[1]} AS INTEGER) > {xs[2]}))"

        if cmp.op == "exists":
            test = f"COALESCE({self.is_kind(ref, 'number', params)}, FALSE)"
            return test if cmp.value else f"(NOT {test})"
        values = cmp.value if cmp.op == "in" else (cmp.value,)
        op = "eq" if cmp.op == "in" else cmp.op
        # days are numbers: a string or boolean never matches
        values = tuple(v for v in values if not isinstance(v, bool | str))
        if op == "contains" or not values:
            return "(1 = 0)"
        kind = self.is_kind(ref, "number", params)
        tests = []
        for v in values:
            tests.append(f"{days()} {SQL_OPS[op]} {self.p}")
            params.append(float(v))
        return f"COALESCE(CASE WHEN {kind} THEN ({' OR '.join(tests)}) ELSE FALSE END, FALSE)"


RESTRICTED = (
    "rup(id, parent) AS (SELECT pr.id, pr.merged_into FROM restrictions r "
    "JOIN profiles pr ON pr.id = r.profile_id "
    "UNION ALL SELECT pr.id, pr.merged_into FROM profiles pr JOIN rup ON pr.id = rup.parent)"
)
FAMILY = (
    "fam(live, id) AS (SELECT id, id FROM profiles WHERE state = 'live' "
    "UNION ALL SELECT fam.live, m.id FROM profiles m JOIN fam ON m.merged_into = fam.id)"
)


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    params: list[Any]


def compile_condition(
    condition: Condition,
    *,
    dialect: str,
    now: datetime,
    time: Callable[[datetime], Any],
    system_source: str,
    computed_functions: dict[str, str],
    select: str = "p.id",
    tail: str = "",
) -> Compiled:
    """``SELECT <select> FROM profiles p ... WHERE <live, not restricted, condition><tail>``."""
    sql = _Sql(dialect == "postgresql", time, now, system_source, computed_functions)
    if isinstance(condition, All):
        # A required event leaf (at least one such event) narrows every other aggregate to the few
        # profiles that have them, instead of counting the events of everybody.
        anchor = next(
            (n for n in condition.items if isinstance(n, EventCount) and n.min is not None and n.min >= 1),
            None,
        )
        if anchor is not None:
            sql.event_count(anchor)  # becomes a0
            anchor_params: list[Any] = []
            sql.anchor = (sql.bounds("n", anchor.min, anchor.max, anchor_params), anchor_params)
    where_params: list[Any] = []
    where = sql.node(condition, where_params)
    ctes = [RESTRICTED, *([FAMILY] if sql.uses_family else []), *sql.ctes]
    text = (
        f"WITH RECURSIVE {', '.join(ctes)} SELECT {select} FROM profiles p {' '.join(sql.joins)} "
        f"WHERE p.state = 'live' AND p.id NOT IN (SELECT id FROM rup) AND {where}{tail}"
    )
    return Compiled(text, [*sql.cte_params, *sql.join_params, *where_params])
