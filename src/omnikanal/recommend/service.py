"""Recommendations for a customer: the trained model where the customer consents and has history,
the non-personal popularity lists otherwise, filtered by what is in stock where it is wanted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.facts import CommerceFacts, ProductFacts
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import InvalidInput, NotFound

from . import store
from .generate import Interaction
from .history import bought, top_category
from .model import ALGORITHM, Available, Item, Recommendations, TrainParams

if TYPE_CHECKING:
    # NumPy and the trainer are imported on first use: every process builds the hub, and NumPy
    # with SciPy took ~50 MB in processes that never train or recommend
    import numpy as np
    from numpy.typing import NDArray

    from .evaluate import Score
    from .train import Trained

PURPOSE = "personalisation"
# rows of factors or lists written per transaction when a model is stored
SAVE_CHUNK = 2000
# the catalogue read behind every answer is kept this long (products and categories change rarely)
CATALOGUE_SECONDS = 60.0
# personal candidates scoring at most this share of the best one are left to the fallbacks
PERSONAL_FLOOR = 0.1


class Profiles(Protocol):
    def live_id(self, profile_id: str) -> str: ...
    def live_ids(self, profile_ids: Any) -> dict[str, str]: ...


class Consents(Protocol):
    def may_contact(self, profile_id: str, purpose: str | None, channel: str | None = None) -> Any: ...


@dataclass
class Loaded:
    version: int
    trained_at: datetime
    figures: dict[str, Any]
    items: list[str]
    index: dict[str, int]
    factors: NDArray[np.float32]
    popular: dict[str, list[tuple[str, float]]]


class RecommendService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        profiles: Profiles,
        consent: Consents,
        facts: CommerceFacts,
        params: TrainParams,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._profiles = profiles
        self._consent = consent
        self._facts = facts
        self.params = params
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._catalogue: tuple[float, dict[str, ProductFacts]] | None = None

    # -- training --------------------------------------------------------------------------------

    def train(
        self,
        *,
        window_days: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        only_if_new: bool = False,
    ) -> dict[str, Any]:
        """Train a model on the interactions (the whole history, or the last ``window_days``) and
        store it as the newest version with its figures."""
        window = window_days if window_days is not None else self.params.window_days
        now = self._clock.now()
        with read_tx(self._engine) as conn:
            latest = store.latest_model(conn)
            total = store.count_interactions(conn)
            if only_if_new and latest is not None and latest.figures.get("interactions_total") == total:
                return self._model_view(latest)
            since = now - timedelta(days=window) if window else None
            rows = list(store.interactions(conn, since))
        products = self._facts.products()
        sku_products = {sku: f.product_id for f in products.values() for sku in f.skus}
        categories = {pid: f.category_id for pid, f in products.items()}
        live = self._profiles.live_ids({r.profile_id for r in rows})
        from .train import build_matrix, fit

        matrix = build_matrix(rows, sku_products, categories, live)
        params = TrainParams(**{**asdict(self.params), "window_days": window})
        trained = fit(matrix, params, progress)
        trained.figures["interactions_total"] = total
        self._save(trained, params, now)
        with read_tx(self._engine) as conn:
            saved = store.latest_model(conn)
        assert saved is not None
        return self._model_view(saved)

    def evaluate(
        self,
        progress: Callable[[int, int], None] | None = None,
        rows: list[Any] | None = None,
        categories: dict[str, str | None] | None = None,
    ) -> list[Score]:
        """The offline evaluation on the hub's own interactions (or on ``rows`` given)."""
        if rows is None:
            with read_tx(self._engine) as conn:
                stored = list(store.interactions(conn, None))
            products = self._facts.products()
            sku_products = {sku: f.product_id for f in products.values() for sku in f.skus}
            live = self._profiles.live_ids({r.profile_id for r in stored})
            rows = []
            for r in stored:
                product = r.product_id if r.product_id in products else sku_products.get(r.sku or "")
                person = live.get(r.profile_id)
                if product is not None and person is not None:
                    rows.append(Interaction(person, r.sku, product, r.kind, r.weight, r.store_id, r.at))
            categories = {pid: f.category_id for pid, f in products.items()}
        from .evaluate import evaluate

        return evaluate(rows, categories or {}, self.params, progress)

    def _save(self, trained: Trained, params: TrainParams, now: datetime) -> int:
        """Store the model: its row first (not ready), the factors in short transactions of
        ``SAVE_CHUNK`` rows each (one transaction for 100,000 customers held SQLite's write lock,
        which ingest needs, for seconds), then ready; older models' factors go last."""
        version = run_write(
            self._engine, lambda conn: store.new_model(conn, now, ALGORITHM, asdict(params), trained.figures)
        )
        users = [(u, trained.user_factors[n].tobytes()) for n, u in enumerate(trained.users)]
        items = [(p, trained.item_factors[n].tobytes()) for n, p in enumerate(trained.items)]
        writes: list[Callable[[Any], None]] = []
        for start in range(0, len(users), SAVE_CHUNK):
            writes.append(
                partial(store.add_user_factors, version=version, rows=users[start : start + SAVE_CHUNK])
            )
        for start in range(0, len(items), SAVE_CHUNK):
            writes.append(
                partial(store.add_item_factors, version=version, rows=items[start : start + SAVE_CHUNK])
            )
        for start in range(0, len(trained.popular), SAVE_CHUNK):
            writes.append(
                partial(store.add_popular, version=version, rows=trained.popular[start : start + SAVE_CHUNK])
            )
        for write in writes:
            run_write(self._engine, write)
        run_write(self._engine, lambda conn: store.mark_ready(conn, version))
        run_write(self._engine, lambda conn: store.drop_models_before(conn, version))
        return version

    def model(self) -> dict[str, Any] | None:
        with read_tx(self._engine) as conn:
            row = store.latest_model(conn)
        return self._model_view(row) if row is not None else None

    @staticmethod
    def _model_view(row: Any) -> dict[str, Any]:
        return {
            "version": row.version,
            "trained_at": isoformat(row.trained_at),
            "algorithm": row.algorithm,
            "params": row.params,
            "figures": row.figures,
        }

    # -- answering -------------------------------------------------------------------------------

    def _load(self) -> Loaded | None:
        with read_tx(self._engine) as conn:
            latest = store.latest_model(conn)
            if latest is None:
                return None
            if self._loaded is not None and self._loaded.version == latest.version:
                return self._loaded
            with self._lock:
                rows = store.item_factors(conn, latest.version)
                popular: dict[str, list[tuple[str, float]]] = {}
                for r in store.popular(conn, latest.version):
                    popular.setdefault(r.scope, []).append((r.product_id, float(r.score)))
        import numpy as np

        dim = int(latest.params.get("factors", self.params.factors))
        factors = (
            np.vstack([np.frombuffer(r.factors, dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, dim), np.float32)
        )
        items = [r.product_id for r in rows]
        self._loaded = Loaded(
            latest.version,
            latest.trained_at,
            latest.figures,
            items,
            {p: n for n, p in enumerate(items)},
            factors,
            popular,
        )
        return self._loaded

    def products(self) -> dict[str, ProductFacts]:
        """The catalogue's facts by product id (cached for a short while)."""
        return self._products()

    def _products(self) -> dict[str, ProductFacts]:
        cached = self._catalogue
        if cached is None or time.monotonic() - cached[0] > CATALOGUE_SECONDS:
            cached = (time.monotonic(), self._facts.products())
            self._catalogue = cached
        return cached[1]

    def recommend(
        self,
        profile_id: str,
        limit: int = 10,
        store_id: str | None = None,
        available: Available | None = None,
        context_product: str | None = None,
    ) -> Recommendations:
        """Up to ``limit`` products for the customer. ``available``: in stock at ``store_id``
        ("store"), online ("online") or anywhere ("any"; the default without a store).
        ``context_product``: a product in the customer's hand (a scan), which steers the model."""
        live = self._profiles.live_id(profile_id)
        if store_id is not None and self._facts.location_kind(store_id, "store") != "store":
            raise NotFound("store_not_found", f"store: {store_id!r} is no store", "store")
        where = available or ("store" if store_id is not None else "any")
        if where == "store" and store_id is None:
            raise InvalidInput("store_required", "store: needed when available is store", "store")
        loaded = self._load()
        if loaded is None or not loaded.popular:
            message = (
                "no model trained yet: run omnikanal recommend train"
                if loaded is None
                else "the model was trained on no interactions: nothing to recommend yet"
            )
            return Recommendations(live, False, "no_data", loaded.version if loaded else None, [], message)
        consent = self._consent.may_contact(live, PURPOSE)
        if not consent.allowed:
            items = self._pick(loaded, None, set(), store_id, where, limit, None, context_product)
            return Recommendations(live, False, "no_consent", loaded.version, items)
        with read_tx(self._engine) as conn:
            vector = store.user_factors(conn, loaded.version, live)
            history = store.history(conn, [live])
        products = self._products()
        kept = bought(history, products)
        import numpy as np

        user = np.frombuffer(vector, dtype=np.float32) if vector is not None else None
        items = self._pick(
            loaded, user, kept, store_id, where, limit, top_category(history, products), context_product
        )
        personal = any(i.reason == "personal" for i in items)
        return Recommendations(
            live, personal, "model" if personal else "little_history", loaded.version, items
        )

    def _pick(
        self,
        loaded: Loaded,
        user: NDArray[np.float32] | None,
        exclude: set[str],
        store_id: str | None,
        where: Available,
        limit: int,
        category: str | None,
        context_product: str | None,
    ) -> list[Item]:
        products = self._products()
        skip = set(exclude)
        if context_product:
            skip.add(context_product)
        candidates: list[tuple[str, float, str]] = []
        query = user
        if context_product is not None and context_product in loaded.index:
            item = loaded.factors[loaded.index[context_product]]
            query = item if query is None else query + item
        if query is not None and loaded.factors.shape[0]:
            import numpy as np

            scores = loaded.factors @ query
            top = np.argsort(-scores)[: max(limit * 20, 100)]
            # far below the best, the model says little: the popularity lists explain those better
            floor = float(scores[top[0]]) * PERSONAL_FLOOR if top.size else 0.0
            for n in top:
                if scores[int(n)] <= floor:
                    break
                candidates.append((loaded.items[int(n)], float(scores[int(n)]), "personal"))
        scopes = [f"store:{store_id}"] if store_id else []
        if category:
            scopes.append(f"category:{category}")
        scopes += [f"month:{self._clock.now().month}", "all"]
        reasons = {
            "store": "popular_in_store",
            "category": "popular_in_category",
            "month": "popular_this_season",
        }
        for scope in scopes:
            reason = reasons.get(scope.split(":", 1)[0], "popular")
            candidates.extend((pid, score, reason) for pid, score in loaded.popular.get(scope, []))
        chosen: list[tuple[str, float, str]] = []
        seen: set[str] = set()
        for pid, score, reason in candidates:
            if pid in seen or pid in skip or pid not in products:
                continue
            seen.add(pid)
            chosen.append((pid, score, reason))
        return self._in_stock(chosen, products, store_id, where, limit)

    def _in_stock(
        self,
        chosen: list[tuple[str, float, str]],
        products: dict[str, ProductFacts],
        store_id: str | None,
        where: Available,
        limit: int,
    ) -> list[Item]:
        items: list[Item] = []
        step = max(limit * 3, 30)
        for start in range(0, len(chosen), step):
            part = chosen[start : start + step]
            if where == "any":
                stock = {pid: (products[pid].skus[0], 0) for pid, _, _ in part}
            else:
                stock = self._facts.available([p for p, _, _ in part], store_id if where == "store" else None)
            for pid, score, reason in part:
                if pid in stock:
                    items.append(Item(pid, stock[pid][0], round(score, 6), reason))
                    if len(items) >= limit:
                        return items
        return items

    def scan_suggestions(
        self, live: str, product_id: str, store_id: str, limit: int
    ) -> list[dict[str, Any]] | None:
        """For the scan in store: personal suggestions in stock here, steered by the scanned
        product; None (the scan keeps its bought-together ones) without consent or a model."""
        if limit <= 0:
            return None
        answer = self.recommend(live, limit, store_id, "store", context_product=product_id)
        if not answer.personal:
            return None
        products = self._products()
        return [
            {
                "product_id": i.product_id,
                "sku": i.sku,
                "name": products[i.product_id].name if i.product_id in products else None,
                "score": i.score,
                "reason": i.reason,
            }
            for i in answer.items
        ]

    def for_template(self, profile_id: str, limit: int = 3) -> list[dict[str, Any]]:
        """A customer's recommendations as template data (``{{ recommendations }}``): personal ones
        with consent, the non-personal lists otherwise; available online."""
        answer = self.recommend(profile_id, limit, None, "online")
        products = self._products()
        return [
            {
                "product_id": i.product_id,
                "sku": i.sku,
                "name": products[i.product_id].name if i.product_id in products else i.product_id,
                "reason": i.reason,
                "personal": answer.personal,
            }
            for i in answer.items
        ]

    def names(self, product_ids: list[str]) -> dict[str, str]:
        """Product names for display (German, else English, else the id)."""
        products = self._products()
        return {p: (products[p].name if p in products else None) or p for p in product_ids}

    def erased_from_cache(self) -> None:
        """The next answer reloads the model (its factors changed)."""
        self._loaded = None
