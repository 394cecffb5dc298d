"""Use cases of probabilistic matching: train, match everyone, match what changed, review.

Splink's work (DuckDB, in memory) runs outside any hub transaction; what it decides is written in
short transactions of our own, one per merge, so a run never holds the write lock for long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.matching import store
from omnikanal.matching.backends import scorer
from omnikanal.matching.card import FIELDS, build_card
from omnikanal.matching.pairs import ScoredPair
from omnikanal.profiles.merge import ProfileMerger

REASON = "probabilistic"
GONE = ("same_profile", "profile_gone")
Progress = Callable[[int], None]


def _splink() -> ModuleType:
    """The Splink model, imported on first use: Splink and DuckDB take some 70 MB in every process
    that builds the hub, and only the worker's matching and the CLI use them (measured)."""
    from omnikanal.matching import splink_model

    return splink_model


@dataclass(frozen=True, slots=True)
class Thresholds:
    merge: float  # at or above: merge
    review: float  # at or above (and below merge): a review item


@dataclass(slots=True)
class RunReport:
    profiles: int = 0
    pairs: int = 0
    merges: int = 0
    reviews: int = 0
    refused: int = 0
    skipped: int = 0  # decided before, or split apart by an unmerge
    problems: int = 0
    refusals: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profiles": self.profiles,
            "pairs": self.pairs,
            "merges": self.merges,
            "reviews": self.reviews,
            "refused": self.refused,
            "skipped": self.skipped,
            "problems": self.problems,
            "refusals": dict(self.refusals),
        }


class MatchingService:
    def __init__(
        self,
        engine: Any,
        clock: Clock,
        merger: ProfileMerger,
        thresholds: Thresholds,
        region: str,
        *,
        training_pairs: float = 2e6,
        backend: str = "duckdb",
        spark: tuple[str, str] = ("local[2]", "1g"),  # master, driver memory
    ) -> None:
        if not 0 < thresholds.review <= thresholds.merge <= 1:
            raise ValueError("matching thresholds: 0 < review <= merge <= 1")
        self._engine = engine
        self._clock = clock
        self._merger = merger
        self.thresholds = thresholds
        self._region = region
        self._training_pairs = training_pairs
        scorer(backend)  # refuses an unknown backend now, not at the first run
        self.backend, self._spark = backend, spark

    # -- cards ---------------------------------------------------------------------------------

    def refresh_cards(self, profile_ids: Sequence[str]) -> int:
        """Rebuild the cards of these profiles from their traits; answers how many values were left
        out of matching (impossible birthdays, absurd names). Merged-away profiles lose their card."""
        traits = self._merger.traits(profile_ids)
        today = self._clock.now().date()
        built = [build_card(pid, t, self._region, today) for pid, t in traits.items()]
        now = self._clock.now()

        def work(conn: Any) -> None:
            store.drop_cards(conn, [p for p in profile_ids if p not in traits])
            store.put_cards(conn, built, now)

        run_write(self._engine, work)
        return sum(len(problems) for _, problems in built)

    def live_profiles(self) -> int:
        return self._merger.live_count()

    def refresh_all(self, progress: Progress | None = None, page: int = 2000) -> tuple[int, int]:
        """Every live profile's card; (profiles, problems)."""
        after: str | None = None
        seen = problems = 0
        while True:
            ids = self._merger.live_page(after, page)
            if not ids:
                return seen, problems
            problems += self.refresh_cards(ids)
            seen += len(ids)
            after = ids[-1]
            if progress:
                progress(len(ids))

    # -- model ---------------------------------------------------------------------------------

    def train(self, backend: str | None = None) -> dict[str, Any]:
        """Estimate the model from the hub's own cards (no labels) and keep it as the one in force."""
        with read_tx(self._engine) as conn:
            rows = store.all_cards(conn)
        if len(rows) < 50:
            raise InvalidInput(
                "too_few_profiles", f"{len(rows)} profiles with a card; training needs 50", "cards"
            )
        model = scorer(backend or self.backend, *self._spark).train(rows, max_pairs=self._training_pairs)
        record = {
            "id": new_id("mdl"),
            "created_at": self._clock.now(),
            "splink_version": _splink().SPLINK_VERSION,
            "records": len(rows),
            "model": model,
        }
        run_write(self._engine, lambda conn: store.save_model(conn, record))
        return {k: record[k] for k in ("id", "splink_version", "records")} | {
            "created_at": isoformat(self._clock.now())
        }

    def import_model(self, model: dict[str, Any]) -> str:
        """Keep a model made elsewhere (a file), after checking that it fits the card."""
        probe = [{"profile_id": "a", "last_name": "probe"}, {"profile_id": "b", "last_name": "probe"}]
        try:
            _splink().check(model)
            # Splink reads the whole settings only when it scores: score two cards to know it fits.
            _splink().score_within(probe, model, 0.5)
        except Exception as exc:
            raise InvalidInput("model_mismatch", str(exc), "model") from None
        record = {
            "id": new_id("mdl"),
            "created_at": self._clock.now(),
            "splink_version": str(model.get("omnikanal", {}).get("splink_version", "")),
            "records": int(model.get("omnikanal", {}).get("records", 0)),
            "model": model,
        }
        run_write(self._engine, lambda conn: store.save_model(conn, record))
        return str(record["id"])

    def _model(self) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.latest_model(conn)
        if row is None:
            raise Conflict("no_model", "no matching model yet: run `omnikanal matching train`")
        return dict(row["model"])

    # -- matching ------------------------------------------------------------------------------

    def run_all(self, progress: Progress | None = None, backend: str | None = None) -> RunReport:
        """Compare every profile once; returns when every merge it decided is committed."""
        report = RunReport()
        report.profiles, report.problems = self.refresh_all(progress)
        with read_tx(self._engine) as conn:
            rows = store.all_cards(conn)
        model = self._model()
        chosen = scorer(backend or self.backend, *self._spark)
        pairs = chosen.score_within(rows, model, self.thresholds.review)
        self.decide(pairs, report)
        return report

    def run_changed(self, limit: int = 500) -> RunReport | None:
        """Match the profiles marked as changed against the others; None when none was waiting."""
        started = self._clock.now()
        with read_tx(self._engine) as conn:
            marked = store.dirty(conn, limit)
        if not marked:
            return None
        report = RunReport()
        live = self._merger.live_ids(marked)
        ids = sorted(set(live.values()))
        # a marked profile merged away meanwhile loses its card (refresh drops cards of non-live ones)
        report.problems = self.refresh_cards(sorted(set(marked) | set(ids)))
        with read_tx(self._engine) as conn:
            new = store.cards(conn, ids)
            existing = store.candidates(conn, new) if new else []
            counts, total = store.name_counts(conn, _splink().TF_FIELDS)
            has_model = store.latest_model(conn) is not None
        report.profiles = len(new)
        if new and has_model:
            model = self._model()
            # Name frequencies of a handful of profiles say nothing (every name looks common), so
            # until the hub holds as many cards as the model was trained on, the training size is
            # the denominator.
            trained_on = int(model.get("omnikanal", {}).get("records", 0))
            pairs = _splink().score_between(
                new, existing, model, self.thresholds.review, counts, max(total, trained_on)
            )
            self.decide(pairs, report)
        run_write(self._engine, lambda conn: store.clear_dirty(conn, marked, started))
        return report

    def mark_changed(self, conn: Any, profile_ids: Sequence[str], now: datetime) -> None:
        store.mark_dirty(conn, profile_ids, now)

    def decide(self, pairs: Sequence[ScoredPair], report: RunReport) -> None:
        """Merge, queue for review, or drop each pair; strongest first, each pair once ever."""
        report.pairs += len(pairs)
        ordered = sorted(pairs, key=lambda p: (-p.probability, p.left, p.right))
        with read_tx(self._engine) as conn:
            seen = store.decided(conn, [(p.left, p.right) for p in ordered])
            blocked = self._merger.blocked(conn, {x for p in ordered for x in (p.left, p.right)})
        for pair in ordered:
            key = (pair.left, pair.right)
            if key in seen or key in blocked:
                report.skipped += 1
                continue
            if pair.probability >= self.thresholds.merge:
                self._merge(pair, report)
            else:
                self._record(pair, "review", None, None, None)
                report.reviews += 1

    def _merge(
        self, pair: ScoredPair, report: RunReport, actor: str | None = None, pair_id: str | None = None
    ) -> str | None:
        note = {
            "probability": round(pair.probability, 6),
            "weight": round(pair.weight, 3),
            "contributions": pair.contributions,
        }
        outcome = self._merger.merge(pair.left, pair.right, REASON, note)
        if outcome.merge_id is None and outcome.refusal in GONE and pair_id is None:
            report.skipped += 1  # merged meanwhile (by an earlier pair of this run, or by stitching)
            return None
        if outcome.merge_id is None:
            report.refused += 1
            reason = outcome.refusal or "refused"
            report.refusals[reason] = report.refusals.get(reason, 0) + 1
            status = "refused"
        else:
            report.merges += 1
            status = "accepted" if actor else "merged"
            # the survivor's card takes the absorbed traits; the absorbed profile has none any more
            self.refresh_cards([pair.left, pair.right])
        if pair_id is None:
            self._record(pair, status, outcome.merge_id, outcome.refusal, actor)
        else:
            now = self._clock.now()
            run_write(
                self._engine,
                lambda conn: store.set_pair(
                    conn,
                    pair_id,
                    status=status,
                    merge_id=outcome.merge_id,
                    reason=outcome.refusal,
                    decided_at=now,
                    decided_by=actor,
                ),
            )
        return outcome.merge_id

    def _record(
        self, pair: ScoredPair, status: str, merge_id: str | None, reason: str | None, actor: str | None
    ) -> None:
        now = self._clock.now()
        row = {
            "id": new_id("mpr"),
            "profile_a": pair.left,
            "profile_b": pair.right,
            "probability": pair.probability,
            "weight": pair.weight,
            "contributions": pair.contributions,
            "status": status,
            "reason": reason,
            "merge_id": merge_id,
            "created_at": now,
            "decided_at": None if status == "review" else now,
            "decided_by": actor,
        }
        run_write(self._engine, lambda conn: store.add_pair(conn, row))

    # -- review --------------------------------------------------------------------------------

    def queue(self, limit: int, offset: int = 0, status: str = "review") -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            rows = store.pairs(conn, status, limit, offset)
            cards = {
                c["profile_id"]: c
                for c in store.cards(
                    conn, sorted({p for r in rows for p in (r["profile_a"], r["profile_b"])})
                )
            }
            counts = store.pair_counts(conn)
        return {
            "items": [pair_view(r, cards) for r in rows],
            "counts": counts,
            "limit": limit,
            "offset": offset,
        }

    def item(self, pair_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.pair(conn, pair_id)
            if row is None:
                raise NotFound("pair_not_found", f"no match pair {pair_id!r}")
            cards = {c["profile_id"]: c for c in store.cards(conn, [row["profile_a"], row["profile_b"]])}
        return pair_view(row, cards)

    def _pending(self, pair_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.pair(conn, pair_id)
        if row is None:
            raise NotFound("pair_not_found", f"no match pair {pair_id!r}")
        if row["status"] != "review":
            raise Conflict("pair_decided", f"pair {pair_id} was decided already ({row['status']})")
        return row

    def accept(self, pair_id: str, actor: str) -> dict[str, Any]:
        row = self._pending(pair_id)
        pair = ScoredPair(
            row["profile_a"], row["profile_b"], row["probability"], row["weight"], row["contributions"]
        )
        self._merge(pair, RunReport(), actor=actor, pair_id=pair_id)
        return self.item(pair_id)

    def reject(self, pair_id: str, actor: str) -> dict[str, Any]:
        self._pending(pair_id)
        now = self._clock.now()
        run_write(
            self._engine,
            lambda conn: store.set_pair(conn, pair_id, status="rejected", decided_at=now, decided_by=actor),
        )
        return self.item(pair_id)


class MatchingData:
    """The person's matching card and decided pairs, for exports and erasures."""

    name = "matching"

    def export(self, conn: Any, profile_ids: Sequence[str]) -> dict[str, Any]:
        return store.export(conn, profile_ids)

    def erase(self, conn: Any, profile_ids: Sequence[str]) -> int:
        return store.erase(conn, profile_ids)


def pair_view(row: dict[str, Any], cards: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def card(pid: str) -> dict[str, Any] | None:
        found = cards.get(pid)
        return {f: found.get(f) for f in FIELDS} if found else None

    return {
        "id": row["id"],
        "status": row["status"],
        "probability": row["probability"],
        "match_weight": row["weight"],
        "contributions": row["contributions"],
        "reason": row["reason"],
        "merge_id": row["merge_id"],
        "created_at": isoformat(row["created_at"]),
        "decided_at": isoformat(row["decided_at"]) if row["decided_at"] else None,
        "decided_by": row["decided_by"],
        "profiles": [
            {"id": row["profile_a"], "card": card(row["profile_a"])},
            {"id": row["profile_b"], "card": card(row["profile_b"])},
        ],
    }
