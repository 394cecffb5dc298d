"""The dispatcher: claims due messages from the outbox, passes each through the gate, sends, records.

Three short transactions per batch, never one around a network call:

1. claim: due rows get a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the write lock and
   a conditional UPDATE), so several workers share the outbox without coordination;
2. gate: each message is decided under its profile's row lock (PostgreSQL), so two workers cannot
   both let a message through the same frequency cap; blocked and deferred ones are final for now;
3. send through the channel adapters, then record each outcome: sent, or a retry with exponential
   backoff and jitter, or a permanent failure.

A worker that dies mid-send leaves its lease to expire; the message is claimed again and sent again
(at least once). Message-ID and webhook-id are the message id, so a receiver can recognise it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.db.engine import run_write
from omnikanal.db.fast import Raw
from omnikanal.messaging import facts as facts_store
from omnikanal.messaging import store
from omnikanal.messaging.channels import Channel
from omnikanal.messaging.channels.webhook import RETRY_SCHEDULE_SECONDS
from omnikanal.messaging.gate import BoundConsent, decide
from omnikanal.messaging.model import (
    ADDRESS_TYPE,
    STATUS_RANK,
    GateDecision,
    GateRequest,
    Outgoing,
    PermanentFailure,
    Policy,
    SendResult,
    Status,
    TransientFailure,
    Verdict,
)
from omnikanal.messaging.ports import ChannelScores
from omnikanal.messaging.service import MessagingService
from omnikanal.messaging.templates import RenderContext, RenderFailed, TemplateParts, html_from_text, render
from omnikanal.profiles import chain

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


class RateLimiter:
    """At most ``rate`` sends per second per channel (a provider's limit), as a token bucket."""

    def __init__(self, rates: dict[str, float]) -> None:
        self._rates = {k: v for k, v in rates.items() if v > 0}
        self._tokens: dict[str, float] = {k: v for k, v in self._rates.items()}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, channel: str) -> None:
        rate = self._rates.get(channel)
        if rate is None:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                elapsed = now - self._last.get(channel, now)
                self._last[channel] = now
                self._tokens[channel] = min(rate, self._tokens[channel] + elapsed * rate)
                if self._tokens[channel] >= 1:
                    self._tokens[channel] -= 1
                    return
                wait = (1 - self._tokens[channel]) / rate
            time.sleep(wait)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        service: MessagingService,
        channels: dict[str, Channel],
        policy: Policy,
        *,
        batch_size: int,
        max_attempts: int,
        retry_base_seconds: float,
        retry_max_seconds: float,
        poll_seconds: float,
        rates: dict[str, float],
        webhook_url: str,
        pipeline: int = 1,
        jobs: Sequence[Callable[[], int]] = (),
        channel_scores: ChannelScores | None = None,
    ) -> None:
        # the next best channel's scores for auto (recommend's, wired by the hub); None: fixed order
        self._channel_scores = channel_scores
        self._engine = engine
        self._clock = clock
        self._service = service
        self.channels = channels
        self._policy = policy
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._limiter = RateLimiter(rates)
        self._webhook_url = webhook_url
        self._pipeline = max(1, pipeline)
        self._executor: ThreadPoolExecutor | None = None
        self._sender_lock = threading.Lock()
        # Work that feeds the outbox, run before each round (double opt-in mails, ...).
        # outboxes of other capabilities drained before each round (confirmations, commerce)
        self.jobs = tuple(jobs)
        self._poll_seconds = poll_seconds
        self._loop = Periodic("messaging-dispatcher", poll_seconds, self._tick)

    # -- the loop ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._poll_seconds > 0:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        with self._sender_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        for channel in self.channels.values():
            try:
                channel.close()
            except Exception:
                log.exception("closing channel %s failed", channel.name)

    def _tick(self) -> bool:
        for job in self.jobs:
            try:
                job()
            except Exception:
                log.exception("messaging job %s failed", getattr(job, "name", job))
        return self.run_once() > 0

    def run_once(self, ids: Sequence[str] | None = None) -> int:
        """One round: up to ``pipeline`` batches, each claimed, gated, sent and recorded; a batch is
        claimed and gated while the one before it is out at the providers, so the database work and
        the network waits overlap. Each batch has its own lease from its own claim. Returns how many
        messages the round handled."""
        handled = 0
        pending: Future[list[tuple[Any, Outgoing, SendResult | Exception]]] | None = None
        try:
            for _ in range(self._pipeline):
                claimed = run_write(self._engine, lambda conn: self._claim(conn, ids))
                if not claimed:
                    break
                handled += len(claimed)
                self._service.messaging_source()
                ready = run_write(self._engine, partial(self._gate, claimed=claimed))
                sending = self._sender().submit(self._send, ready)
                if pending is not None:
                    self._finish(pending.result())
                pending = sending
        finally:
            if pending is not None:
                self._finish(pending.result())
        return handled

    def _claim(self, conn: Connection, ids: Sequence[str] | None) -> list[Any]:
        now = self._clock.now()
        return store.claim_due(conn, now, now + LEASE, self._batch_size, ids=ids)

    def _sender(self) -> ThreadPoolExecutor:
        with self._sender_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="messaging-send")
            return self._executor

    def _send(self, ready: list[tuple[Any, Outgoing]]) -> list[tuple[Any, Outgoing, SendResult | Exception]]:
        by_channel: dict[str, list[tuple[Any, Outgoing]]] = defaultdict(list)
        for row, outgoing in ready:
            by_channel[outgoing.channel].append((row, outgoing))
        outcomes: list[tuple[Any, Outgoing, SendResult | Exception]] = []
        for channel_name, items in by_channel.items():
            channel = self.channels.get(channel_name)
            if channel is None:
                outcomes.extend(
                    (r, o, PermanentFailure(f"channel {channel_name} is not available")) for r, o in items
                )
                continue
            for _ in items:
                self._limiter.take(channel_name)
            try:
                results = channel.send_batch([o for _, o in items])
            except Exception as exc:  # an adapter must not lose the batch
                log.exception("channel %s failed", channel_name)
                results = [TransientFailure(f"{type(exc).__name__}: {exc}") for _ in items]
            outcomes.extend((r, o, res) for (r, o), res in zip(items, results, strict=True))
        return outcomes

    def _finish(self, outcomes: list[tuple[Any, Outgoing, SendResult | Exception]]) -> None:
        if not outcomes:
            return
        bounced = run_write(self._engine, lambda conn: self._record(conn, outcomes))
        for address_type, address in bounced:
            # A hard bounce: never send to this address again (after the commit: the consent
            # service writes in a transaction of its own).
            self._service.consent.suppress(address_type, address, "hard_bounce")

    # -- gate ------------------------------------------------------------------------------------

    def _gate(self, conn: Connection, claimed: list[Any]) -> list[tuple[Any, Outgoing]]:
        now = self._clock.now()
        since = now - timedelta(days=self._policy.cap_days)
        ready: list[tuple[Any, Outgoing]] = []
        changes: list[tuple[Any, Status, datetime, dict[str, Any]]] = []
        writes = _Writes()
        consent = self._service.consent
        suppression = getattr(consent, "suppression", None)
        decide_on = getattr(consent, "decide_on", None)
        batch: facts_store.BatchFacts | None = None
        if suppression is not None and decide_on is not None:
            batch = facts_store.read(
                conn,
                [r.profile_id for r in claimed],
                since,
                suppression,
                lock=True,
                engagement_for=[r.profile_id for r in claimed if r.requested_channel == "auto"],
                extra_addresses=[
                    ("email", (r.options or {})["to"])
                    for r in claimed
                    if r.requested_channel == "email" and (r.options or {}).get("to")
                ],
                templates=[r.template for r in claimed if r.requested_channel == "auto" and r.template],
            )
            port: Any = facts_store.BatchConsent(consent, consent, suppression, conn, batch)  # type: ignore[arg-type]
            self._add_scores(conn, claimed, batch)
        else:  # a consent port without batch reads (tests' stand-ins): one message at a time
            port = BoundConsent(consent, conn)
        # Profiles are decided in id order (they were locked in that order).
        for row in sorted(claimed, key=lambda r: (r.profile_id, r.id)):
            auto = row.requested_channel == "auto"
            if batch is not None:
                live = batch.live.get(row.profile_id)
                known = batch.profiles.get(live) if live else None
                facts = known.for_message(row.id) if known is not None else None
            else:
                # facts are read from the database here: what this batch let through so far must
                # be written first, or the cap would not count it
                writes.flush(conn)
                live = chain.resolve_live(conn, row.profile_id)
                facts = store.facts(conn, live, since, row.id, lock=True, engagement=auto) if live else None
                if auto and facts is not None and self._channel_scores is not None:
                    found = self._channel_scores.scores(conn, [facts.profile_id])
                    facts.channel_scores = dict(found.get(facts.profile_id, {}))
            options = row.options or {}
            extra: dict[str, str] = {}
            if row.requested_channel == "webhook":
                url = options.get("to") or self._webhook_url
                if url:
                    extra["webhook"] = url
            if row.requested_channel == "email" and options.get("to"):
                # only internal callers set it (the double opt-in goes to the address being confirmed)
                extra["email"] = options["to"]
            if row.requested_channel == "task":
                extra["task"] = options.get("queue") or "hotline"
            only = None
            if auto and row.template is not None:
                if batch is not None:
                    only = batch.template_channels.get(row.template, frozenset())
                else:
                    only = frozenset(t.channel for t in store.template_rows(conn, row.template))
            request = GateRequest(
                profile_id=live or row.profile_id,
                channel=row.requested_channel,
                transactional=row.transactional,
                purpose=row.purpose,
                only=only,
            )
            if not row.transactional and row.purpose is None and row.requested_channel in ("webhook",):
                decision = GateDecision(Verdict.BLOCK, "no_purpose", "webhook", None)
            else:
                decision = decide(request, facts, port, self._policy, now, reachable_extra=extra)
            stored = decision.as_dict(now)
            values: dict[str, Any] = {
                "decision": stored,
                "channel": decision.channel or row.channel,
                "updated_at": now,
                "profile_id": live or row.profile_id,
            }
            if decision.verdict is Verdict.BLOCK:
                values.update(
                    status=Status.BLOCKED.value, reason=decision.reason, due_at=None, claimed_until=None
                )
                writes.update(row.id, values)
                writes.status(row.id, values["profile_id"], Status.BLOCKED, now, {"reason": decision.reason})
                changes.append((_with(row, values), Status.BLOCKED, now, {"reason": decision.reason}))
                continue
            if decision.verdict is Verdict.DEFER:
                values.update(
                    status=Status.DEFERRED.value,
                    reason=decision.reason,
                    due_at=decision.not_before,
                    claimed_until=None,
                )
                writes.update(row.id, values)
                detail = {"reason": decision.reason, "until": stored["not_before"]}
                writes.status(row.id, values["profile_id"], Status.DEFERRED, now, detail)
                continue
            assert facts is not None
            assert decision.channel is not None
            assert decision.address is not None
            try:
                outgoing, rendered, locale = self._render(conn, row, decision, facts.traits)
            except (RenderFailed, LookupError) as exc:
                values.update(
                    status=Status.FAILED.value,
                    reason="render_failed",
                    error=str(exc),
                    due_at=None,
                    claimed_until=None,
                )
                writes.update(row.id, values)
                writes.status(row.id, values["profile_id"], Status.FAILED, now, {"error": str(exc)})
                changes.append((_with(row, values), Status.FAILED, now, {"error": str(exc)}))
                continue
            values.update(
                address=decision.address,
                rendered=rendered,
                locale=locale,
                reason=decision.reason,
                purpose=decision.purpose if not row.transactional else row.purpose,
                passed_at=row.passed_at or now,
            )
            writes.update(row.id, values)
            if batch is not None and not row.transactional and live:
                # the next message of this batch to the same customer counts this one in its cap
                batch.count_passed(live, values["passed_at"], decision.channel, row.id)
            ready.append((_with(row, values), outgoing))
        writes.flush(conn)
        self._service.touchpoints(conn, changes)
        return ready

    def _add_scores(self, conn: Connection, claimed: list[Any], batch: facts_store.BatchFacts) -> None:
        """The channel scores of the batch's customers with a message on ``auto``, in one read."""
        if self._channel_scores is None:
            return
        wanted = {batch.live.get(r.profile_id) for r in claimed if r.requested_channel == "auto"}
        ids = sorted(p for p in wanted if p is not None and p in batch.profiles)
        if not ids:
            return
        for pid, channels in self._channel_scores.scores(conn, ids).items():
            if pid in batch.profiles:
                batch.profiles[pid].customer.channel_scores = dict(channels)

    def _render(
        self, conn: Connection, row: Any, decision: GateDecision, traits: dict[str, Any]
    ) -> tuple[Outgoing, dict[str, Any], str]:
        channel = decision.channel
        assert channel is not None
        assert decision.address is not None
        locale = row.locale or _locale_of(traits) or self._service.default_locale
        if row.template is not None:
            template = store.template_for(conn, row.template, channel, locale, ("de", "en"))
            if template is None:
                raise LookupError(f"template {row.template!r} has no version for channel {channel}")
            parts = TemplateParts(template.subject, template.body_text, template.body_html)
            locale = template.locale
        else:
            content = row.content or {}
            parts = TemplateParts(content.get("subject"), content.get("text") or "", content.get("html"))
        marketing = not row.transactional
        service = self._service
        unsubscribe = (
            service.unsubscribe_url(row.id, row.profile_id, channel, decision.purpose or "")
            if marketing and decision.purpose
            else None
        )
        links: dict[str, str] = {}
        # Signing the preference-centre link costs more than rendering; only a template that
        # mentions its links gets them (the sandbox reaches them by no other name).
        if "links" in f"{parts.subject or ''}{parts.body_text}{parts.body_html or ''}":
            preference = service.consent.preference_url(row.profile_id)
            links = {"preference_url": preference, "unsubscribe_url": unsubscribe or preference}
        context = RenderContext(
            profile_id=row.profile_id,
            traits=traits,
            data=row.data or {},
            links=links,
            message={"id": row.id, "channel": channel},
            locale=locale,
            track=lambda url: service.tracked_url(row.id, str(url)),
            recommendations=service.recommended(row.profile_id, parts),
        )
        result = render(parts, context)
        html = result.body_html
        if channel == "email":
            html = html or html_from_text(result.body_text)
            if marketing:
                pixel = f'<img src="{service.open_pixel_url(row.id)}" width="1" height="1" alt="">'
                html = html.replace("</body>", pixel + "</body>") if "</body>" in html else html + pixel
        else:
            html = None
        options = row.options or {}
        outgoing = Outgoing(
            message_id=row.id,
            profile_id=row.profile_id,
            channel=channel,
            address=decision.address,
            subject=result.subject,
            text=result.body_text,
            html=html,
            marketing=marketing,
            unsubscribe_url=unsubscribe,
            options=dict(options),
            data=row.data or {},
        )
        rendered = {"subject": result.subject, "text": result.body_text, "html": html}
        return outgoing, rendered, locale

    # -- record ----------------------------------------------------------------------------------

    def _record(
        self, conn: Connection, outcomes: list[tuple[Any, Outgoing, SendResult | Exception]]
    ) -> list[tuple[str, str]]:
        """Record each outcome; answers the addresses that bounced for good."""
        now = self._clock.now()
        bounced: list[tuple[str, str]] = []
        changes: list[tuple[Any, Status, datetime, dict[str, Any]]] = []
        writes = _Writes()
        sent_ids = [row.id for row, _, outcome in outcomes if isinstance(outcome, SendResult)]
        # A provider's callback may have come first and moved the status on already.
        current = store.statuses(conn, sent_ids)
        for row, outgoing, outcome in outcomes:
            attempts = row.attempts + 1
            if isinstance(outcome, SendResult):
                status_now = outcome.status.value
                before = current.get(row.id)
                if before is not None and STATUS_RANK.get(before, 0) > STATUS_RANK.get(status_now, 0):
                    status_now = before
                values = {
                    "status": status_now,
                    "provider_id": outcome.provider_id,
                    "sent_at": now,
                    "attempts": attempts,
                    "due_at": None,
                    "claimed_until": None,
                    "error": None,
                    "updated_at": now,
                }
                writes.update(row.id, values)
                detail = {"provider_id": outcome.provider_id, "attempt": attempts}
                writes.status(row.id, row.profile_id, Status.SENT, now, detail)
                changes.append((row, Status.SENT, now, {}))
                if outcome.status is not Status.SENT:
                    writes.status(row.id, row.profile_id, outcome.status, now, {})
                    changes.append((row, outcome.status, now, {}))
                continue
            if isinstance(outcome, PermanentFailure) or attempts >= self._max_attempts:
                status = outcome.status if isinstance(outcome, PermanentFailure) else Status.FAILED
                error = str(outcome)
                writes.update(
                    row.id,
                    {
                        "status": status.value,
                        "attempts": attempts,
                        "due_at": None,
                        "claimed_until": None,
                        "error": error,
                        "updated_at": now,
                    },
                )
                writes.status(row.id, row.profile_id, status, now, {"error": error, "attempt": attempts})
                changes.append((row, status, now, {"error": error}))
                address_type = ADDRESS_TYPE.get(outgoing.channel)
                if status is Status.BOUNCED and address_type is not None:
                    bounced.append((address_type, outgoing.address))
                continue
            delay = self._backoff(outgoing.channel, attempts)
            error = f"{type(outcome).__name__}: {outcome}"
            writes.update(
                row.id,
                {
                    "status": Status.QUEUED.value,
                    "attempts": attempts,
                    "due_at": now + delay,
                    "claimed_until": None,
                    "error": error,
                    "updated_at": now,
                },
            )
            writes.status(
                row.id,
                row.profile_id,
                Status.QUEUED,
                now,
                {"retry_in_seconds": round(delay.total_seconds(), 3), "error": error, "attempt": attempts},
            )
        writes.flush(conn)
        self._service.touchpoints(conn, changes)
        return bounced

    def _backoff(self, channel: str, attempts: int) -> timedelta:
        """Exponential with full jitter in its upper half; webhooks follow the Standard Webhooks schedule."""
        if channel == "webhook":
            base = RETRY_SCHEDULE_SECONDS[min(attempts - 1, len(RETRY_SCHEDULE_SECONDS) - 1)]
        else:
            base = min(self._retry_max, self._retry_base * 2 ** (attempts - 1))
        return timedelta(seconds=base * (0.5 + random.random() / 2))


class _Writes:
    """A batch's row updates and status history, written with executemany at the end: one
    statement per set of columns instead of two per message."""

    def __init__(self) -> None:
        self._updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        self._statuses: list[dict[str, Any]] = []

    def update(self, message_id: str, values: dict[str, Any]) -> None:
        self._updates[tuple(sorted(values))].append({"_id": message_id, **values})

    def status(
        self, message_id: str, profile_id: str, status: Status, at: datetime, detail: dict[str, Any]
    ) -> None:
        self._statuses.append(
            {
                "message_id": message_id,
                "profile_id": profile_id,
                "status": status.value,
                "at": at,
                "detail": detail,
            }
        )

    def flush(self, conn: Connection) -> None:
        # Driver-level executemany: SQLAlchemy's per-parameter processing cost more than the
        # statements themselves here; values are converted as the typed columns store them.
        raw = Raw(conn)
        for columns, rows in self._updates.items():
            assignments = ", ".join(f"{c} = {raw.pj if c in _JSON_COLUMNS else raw.p}" for c in columns)
            sql = f"UPDATE messages SET {assignments} WHERE id = {raw.p}"  # noqa: S608 (our column names)
            conn.exec_driver_sql(
                sql, [(*(_db_value(raw, c, row[c]) for c in columns), row["_id"]) for row in rows]
            )
        raw.insert_many(
            "message_statuses",
            ("message_id", "profile_id", "status", "at", "detail"),
            [
                (s["message_id"], s["profile_id"], s["status"], raw.time(s["at"]), raw.json(s["detail"]))
                for s in self._statuses
            ],
            json_columns=("detail",),
        )
        self._updates.clear()
        self._statuses.clear()


_JSON_COLUMNS = frozenset({"content", "data", "options", "rendered", "decision"})
_TIME_COLUMNS = frozenset({"due_at", "claimed_until", "passed_at", "created_at", "updated_at", "sent_at"})


def _db_value(raw: Raw, column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _JSON_COLUMNS:
        return raw.json(value)
    if column in _TIME_COLUMNS:
        return raw.time(value)
    return value


def _with(row: Any, values: dict[str, Any]) -> Any:
    """The row as it is after ``values`` were written (a light stand-in with attribute access)."""
    merged = dict(row._mapping)
    merged.update(values)
    return _Row(merged)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def _mapping(self) -> dict[str, Any]:
        return self.__dict__


def _locale_of(traits: dict[str, Any]) -> str | None:
    # preferredLanguage is what the preference centre stores
    for key in ("preferredLanguage", "locale", "language", "lang"):
        value = traits.get(key)
        if isinstance(value, str) and value[:2].lower() in ("de", "en"):
            return value[:2].lower()
    return None
