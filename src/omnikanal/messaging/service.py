"""Use cases of messaging: templates, sending (into the outbox), reading, links and callbacks."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.db.engine import read_tx, run_write
from omnikanal.db.fast import Raw
from omnikanal.db.rows import among, insert_new_returning, insert_rows
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.ingest.service import IngestService
from omnikanal.listeners import Listeners
from omnikanal.messaging import store
from omnikanal.messaging.facts import plain_traits
from omnikanal.messaging.gate import ConsentPort
from omnikanal.messaging.inbound import InboundMessages
from omnikanal.messaging.model import (
    AUTO,
    CHANNELS,
    LOCALES,
    MARKETING_PURPOSE,
    STATUS_RANK,
    TASK_COMPLETED,
    TIMELINE_CHANNEL,
    TIMELINE_EVENT,
    Status,
    campaign_of,
)
from omnikanal.messaging.ports import BEST_HOUR, SendTimes, schedule
from omnikanal.messaging.push import PushSubscriptions
from omnikanal.messaging.reports import Report
from omnikanal.messaging.tables import message_statuses, message_templates, messages, staff_tasks
from omnikanal.messaging.templates import (
    RenderContext,
    RenderFailed,
    TemplateParts,
    check,
    html_from_text,
    mentions,
    render,
)
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.signing import Signer
from omnikanal.sources.model import Source
from omnikanal.sources.service import SourceService

log = logging.getLogger(__name__)

# Statements built once: enqueue runs for every step of every journey run, and building a
# statement (and its cache key) costs SQLAlchemy more than the database needs to execute it.
# per dialect (db/rows.among): on PostgreSQL a list is one array parameter
_BY_KEYS = {
    dialect: select(messages.c.idempotency_key, messages.c.id).where(among_keys)
    for dialect, among_keys in among(messages.c.idempotency_key, "keys").items()
}
# The columns a new message and its first status are written with (driver-level, db/rows.py).
_MESSAGE_COLUMNS = (
    "id",
    "profile_id",
    "requested_channel",
    "channel",
    "template",
    "locale",
    "purpose",
    "transactional",
    "status",
    "idempotency_key",
    "content",
    "data",
    "options",
    "attempts",
    "due_at",
    "created_by",
    "created_at",
    "updated_at",
)
_STATUS_COLUMNS = ("message_id", "profile_id", "status", "at", "detail")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
MESSAGING_SOURCE = "omnikanal-messaging"


@dataclass(frozen=True, slots=True)
class SendRequest:
    profile_id: str
    channel: str
    transactional: bool = False
    purpose: str | None = None
    template: str | None = None
    content: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    send_at: datetime | None = None
    locale: str | None = None
    to: str | None = None  # webhook URL
    queue: str | None = None  # task queue: hotline or store:<id>
    kind: str | None = None  # task kind: call, pickup, ...
    best_hour: bool = False  # send_at "best_hour": at the customer's best hour (ports.schedule)


def template_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "channel": row.channel,
        "locale": row.locale,
        "subject": row.subject,
        "body_text": row.body_text,
        "body_html": row.body_html,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
    }


def message_view(row: Any, history: list[Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "profile_id": row.profile_id,
        "requested_channel": row.requested_channel,
        "channel": row.channel,
        "template": row.template,
        "locale": row.locale,
        "purpose": row.purpose,
        "transactional": row.transactional,
        "status": row.status,
        "reason": row.reason,
        "idempotency_key": row.idempotency_key,
        "decision": row.decision,
        "attempts": row.attempts,
        "due_at": isoformat(row.due_at),
        "provider_id": row.provider_id,
        "error": row.error,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
        "sent_at": isoformat(row.sent_at),
    }
    send_time = (getattr(row, "options", None) or {}).get("send_time")
    if send_time is not None:
        view["send_time"] = send_time
    if history is not None:
        view["history"] = [{"status": h.status, "at": isoformat(h.at), "detail": h.detail} for h in history]
    return view


class MessagingService:
    def recommended(self, profile_id: str, parts: TemplateParts) -> tuple[dict[str, Any], ...]:
        """The customer's recommendations for a template that mentions them (else none)."""
        if self.recommendations is None or not mentions(parts, "recommendations"):
            return ()
        return tuple(self.recommendations(profile_id))

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        signer: Signer,
        consent: ConsentPort,
        ingest: IngestService,
        sources: SourceService,
        *,
        public_url: str,
        default_locale: str,
        link_days: int,
        purposes: tuple[str, ...] = (),
        push: PushSubscriptions,
        push_public_key: str | None = None,
        stop_keywords: frozenset[str] = frozenset(),
        start_keywords: frozenset[str] = frozenset(),
        listeners: Listeners | None = None,
        recommendations: Callable[[str], list[dict[str, Any]]] | None = None,
        send_times: SendTimes | None = None,
        default_timezone: str = "Europe/Berlin",
    ) -> None:
        # the customer's best hour for send_at "best_hour" (recommend's, wired by the hub)
        self.send_times = send_times
        self.default_timezone = default_timezone
        # a customer's recommended products for templates that use {{ recommendations }}
        self.recommendations = recommendations
        self._purposes = frozenset(purposes)
        self._engine = engine
        self._clock = clock
        self._signer = signer
        self.consent = consent
        self._ingest = ingest
        self._sources = sources
        self._public_url = public_url.rstrip("/")
        self.default_locale = default_locale
        self._link_days = link_days
        self._source: Source | None = None
        self._source_lock = threading.Lock()
        # told of messages that may go out at once, after their commit (inline dispatch)
        self._enqueued = (listeners or Listeners()).messages_enqueued
        # Web Push subscriptions and the VAPID public key browsers subscribe with
        self.push = push
        self.push_public_key = push_public_key
        # inbound SMS/WhatsApp texts and their keywords (STOP, START)
        self.inbound = InboundMessages(
            ingest,
            clock,
            self.messaging_source,
            stop_keywords,
            start_keywords,
            (listeners or Listeners()).texts_received,
        )

    # -- templates -----------------------------------------------------------------------------

    def save_template(
        self,
        name: str,
        channel: str,
        locale: str,
        subject: str | None,
        body_text: str,
        body_html: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace the template (name, channel, locale) after checking it; (view, created)."""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("invalid_name", "name: letters, digits and _ . : - only, 1 to 200", "name")
        if channel not in CHANNELS:
            raise InvalidInput("invalid_channel", f"channel must be one of: {', '.join(CHANNELS)}", "channel")
        if locale not in LOCALES:
            raise InvalidInput("invalid_locale", f"locale must be one of: {', '.join(LOCALES)}", "locale")
        parts = TemplateParts(subject, body_text, body_html)
        check(parts, channel=channel)
        now = self._clock.now()

        def work(conn: Connection) -> tuple[str, bool]:
            existing = conn.execute(
                select(message_templates.c.id).where(
                    message_templates.c.name == name,
                    message_templates.c.channel == channel,
                    message_templates.c.locale == locale,
                )
            ).scalar()
            values = {"subject": subject, "body_text": body_text, "body_html": body_html, "updated_at": now}
            if existing is not None:
                conn.execute(
                    update(message_templates).where(message_templates.c.id == existing).values(values)
                )
                return str(existing), False
            template_id = new_id("tpl")
            conn.execute(
                message_templates.insert().values(
                    id=template_id, name=name, channel=channel, locale=locale, created_at=now, **values
                )
            )
            return template_id, True

        template_id, created = run_write(self._engine, work)
        return self.get_template(template_id), created

    def get_template(self, template_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(message_templates).where(message_templates.c.id == template_id)).first()
        if row is None:
            raise NotFound("template_not_found", f"no template {template_id!r}", "template_id")
        return template_view(row)

    def list_templates(self, name: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            return [template_view(r) for r in store.template_rows(conn, name, channel)]

    def preview(self, template_id: str, profile_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The template rendered for a profile, with the links a marketing message would carry."""
        template = self.get_template(template_id)
        with read_tx(self._engine) as conn:
            live = chain.resolve_live(conn, profile_id)
            stored = profiles.stored_traits(conn, live) if live else None
        if live is None or stored is None:
            raise NotFound("profile_not_found", f"profile_id: no profile {profile_id!r}", "profile_id")
        traits = store.plain_traits(stored)
        preference = self.consent.preference_url(live)
        channel = template["channel"]
        unsubscribe = self.unsubscribe_url(
            "preview", live, channel, MARKETING_PURPOSE.get(channel, "marketing")
        )
        parts = TemplateParts(template["subject"], template["body_text"], template["body_html"])
        context = RenderContext(
            profile_id=live,
            traits=traits,
            data=data,
            links={"preference_url": preference, "unsubscribe_url": unsubscribe},
            message={"id": "preview", "channel": channel},
            locale=template["locale"],
            track=lambda url: self.tracked_url("preview", str(url)),
            recommendations=self.recommended(live, parts),
        )
        try:
            result = render(parts, context)
        except RenderFailed as exc:
            raise InvalidInput("template_render", str(exc), str(exc).split(":", 1)[0]) from None
        body_html = result.body_html
        if channel == "email" and body_html is None:
            body_html = html_from_text(result.body_text)
        return {
            "template_id": template_id,
            "profile_id": live,
            "channel": channel,
            "locale": template["locale"],
            "subject": result.subject,
            "body_text": result.body_text,
            "body_html": body_html,
        }

    # -- links ---------------------------------------------------------------------------------

    def _valid_for(self) -> timedelta:
        return timedelta(days=self._link_days)

    def unsubscribe_url(self, message_id: str, profile_id: str, channel: str, purpose: str) -> str:
        token = self._signer.sign(
            "unsubscribe", {"m": message_id, "p": profile_id, "c": channel, "u": purpose}, self._valid_for()
        )
        return f"{self._public_url}/unsubscribe/{token}"

    def tracked_url(self, message_id: str, url: str) -> str:
        token = self._signer.sign("click", {"m": message_id, "url": url}, self._valid_for())
        return f"{self._public_url}/m/c/{token}"

    def open_pixel_url(self, message_id: str) -> str:
        token = self._signer.sign("open", {"m": message_id}, self._valid_for())
        return f"{self._public_url}/m/o/{token}"

    def status_callback_url(self) -> str:
        return f"{self._public_url}/callbacks/twilio/status"

    # -- sending -------------------------------------------------------------------------------

    def validate(self, request: SendRequest) -> None:
        if request.channel != AUTO and request.channel not in CHANNELS:
            raise InvalidInput(
                "invalid_channel", f"channel must be one of: {', '.join((*CHANNELS, AUTO))}", "channel"
            )
        if (request.template is None) == (request.content is None):
            raise InvalidInput("template_or_content", "template: give either template or content", "template")
        if request.template is not None:
            with read_tx(self._engine) as conn:
                rows = store.template_rows(conn, request.template)
            if not rows:
                raise NotFound(
                    "template_not_found", f"template: no template named {request.template!r}", "template"
                )
            if request.channel != AUTO and request.channel not in {r.channel for r in rows}:
                raise InvalidInput(
                    "template_channel",
                    f"template: {request.template!r} has no version for channel {request.channel}",
                    "template",
                )
        if request.content is not None:
            content = request.content
            check(
                TemplateParts(content.get("subject"), content.get("text") or "", content.get("html")),
                # channel auto may choose email, which needs a subject
                channel="email" if request.channel == AUTO else request.channel,
                prefix="content.",
            )
        marketing_without_purpose = not request.transactional and not request.purpose
        if marketing_without_purpose and request.channel not in (*MARKETING_PURPOSE, AUTO):
            raise InvalidInput(
                "purpose_required",
                f"purpose: a marketing message over {request.channel} needs a purpose "
                "(or transactional: true)",
                "purpose",
            )
        if request.purpose is not None and self._purposes and request.purpose not in self._purposes:
            raise InvalidInput(
                "unknown_purpose",
                f"purpose must be one of: {', '.join(sorted(self._purposes))}",
                "purpose",
            )
        if request.locale is not None and request.locale not in LOCALES:
            raise InvalidInput("invalid_locale", f"locale must be one of: {', '.join(LOCALES)}", "locale")
        if request.channel == "webhook" and not request.to:
            pass  # the configured OMNIKANAL_WEBHOOK_URL is the default destination

    def enqueue(self, conn: Connection, request: SendRequest, actor: str | None = None) -> tuple[str, bool]:
        """Write the message into the outbox in the caller's transaction; (message id, created).

        The dispatcher sends it after the commit. With an idempotency key a repeated call answers
        the message already written.
        """
        return self.enqueue_many(conn, [request], actor)[0]

    def enqueue_many(
        self,
        conn: Connection,
        requests: Sequence[SendRequest],
        actor: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[str, bool]]:
        """``enqueue`` for many messages in a few statements; answers (message id, created) per request.

        A profile that does not exist fails the whole call (NotFound, naming it). A key repeated in
        the batch, or already in the outbox, answers that message. ``ids`` fixes the ids of the new
        messages (a caller that recorded them already); a key found under another id is a Conflict.
        """
        if not requests:
            return []
        live = self._live_profiles(conn, {r.profile_id for r in requests})
        keys = {r.idempotency_key for r in requests if r.idempotency_key}
        known: dict[str, str] = {}
        if keys:
            known = {k: i for k, i in conn.execute(_BY_KEYS[conn.dialect.name], {"keys": sorted(keys)})}
        now = self._clock.now()
        answers: list[tuple[str, bool]] = []
        rows: list[dict[str, Any]] = []
        for n, request in enumerate(requests):
            key = request.idempotency_key
            if key and key in known:
                answers.append((known[key], False))
                continue
            message_id = ids[n] if ids is not None else new_id("msg")
            if key:
                known[key] = message_id
            answers.append((message_id, True))
            rows.append(self._outbox_row(message_id, live[request.profile_id], request, actor, now))
        if any(r.best_hour for r in requests):
            self._schedule(conn, rows, now)
        if rows:
            raw = Raw(conn)
            written = insert_new_returning(raw, messages, _MESSAGE_COLUMNS, rows, "id")
            if len(written) < len(rows):
                answers = self._lost_races(conn, answers, rows, written)
            status_detail = {"by": actor} if actor else {}
            queued = [
                {
                    "message_id": r["id"],
                    "profile_id": r["profile_id"],
                    "status": Status.QUEUED.value,
                    "at": now,
                    "detail": status_detail,
                }
                for r in rows
                if r["id"] in written
            ]
            if queued:
                insert_rows(raw, message_statuses, _STATUS_COLUMNS, queued)
        if ids is not None and any(a[0] != i for a, i in zip(answers, ids, strict=True)):
            raise Conflict("message_conflict", "an idempotency key names another message; send it again")
        return answers

    def _schedule(self, conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
        """Due times of the messages asking for the customer's best hour, in their time zone."""
        wanted = sorted({r["profile_id"] for r in rows if "send_time" in r["options"]})
        traits = {
            pid: plain_traits(stored) for pid, stored in profiles.stored_traits_of(conn, wanted).items()
        }
        schedule(conn, rows, traits, self.send_times, self.default_timezone, now)

    def _live_profiles(self, conn: Connection, profile_ids: set[str]) -> dict[str, str]:
        """Each id's live profile; the common case (it is live) in one statement for all."""
        states = profiles.states(conn, sorted(profile_ids))
        live: dict[str, str] = {}
        for profile_id in sorted(profile_ids):
            found = profile_id if states.get(profile_id) == "live" else chain.resolve_live(conn, profile_id)
            if found is None:
                raise NotFound("profile_not_found", f"profile_id: no profile {profile_id!r}", "profile_id")
            live[profile_id] = found
        return live

    @staticmethod
    def _outbox_row(
        message_id: str, live: str, request: SendRequest, actor: str | None, now: datetime
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            k: v for k, v in (("to", request.to), ("queue", request.queue), ("kind", request.kind)) if v
        }
        if request.best_hour:
            options["send_time"] = {"mode": BEST_HOUR}
        return {
            "id": message_id,
            "profile_id": live,
            "requested_channel": request.channel,
            "channel": None if request.channel == AUTO else request.channel,
            "template": request.template,
            "locale": request.locale,
            "purpose": request.purpose,
            "transactional": request.transactional,
            "status": Status.QUEUED.value,
            "idempotency_key": request.idempotency_key,
            "content": request.content,
            "data": request.data,
            "options": options,
            "attempts": 0,
            "due_at": max(request.send_at, now) if request.send_at else now,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        }

    @staticmethod
    def _lost_races(
        conn: Connection, answers: list[tuple[str, bool]], rows: list[dict[str, Any]], written: set[str]
    ) -> list[tuple[str, bool]]:
        """Messages ON CONFLICT DO NOTHING skipped: a concurrent transaction committed the same
        idempotency key after our look-up. Those answer its message instead."""
        lost_keys = {r["id"]: r["idempotency_key"] for r in rows if r["id"] not in written}
        if None in lost_keys.values():
            raise Conflict("message_conflict", "the message could not be stored; send it again")
        winners = {
            k: i
            for k, i in conn.execute(_BY_KEYS[conn.dialect.name], {"keys": sorted(set(lost_keys.values()))})
        }
        fixed: list[tuple[str, bool]] = []
        for message_id, created in answers:
            key = lost_keys.get(message_id)
            if key is None:
                fixed.append((message_id, created))
            elif key in winners:
                fixed.append((winners[key], False))
            else:
                raise Conflict("message_conflict", "the message could not be stored; send it again")
        return fixed

    def send(self, request: SendRequest, actor: str | None = None) -> tuple[dict[str, Any], bool]:
        """Validate, write to the outbox, and (inline dispatch on) hand it to the dispatcher at once."""
        self.validate(request)
        message_id, created = run_write(self._engine, lambda conn: self.enqueue(conn, request, actor))
        if created and self._enqueued:
            try:
                self._announce([message_id])
            except Exception:  # the background dispatcher retries it; the message is safe
                log.exception("inline dispatch of %s failed", message_id)
        return self.get(message_id), created

    # -- reading -------------------------------------------------------------------------------

    def get(self, message_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.message(conn, message_id)
            if row is None:
                raise NotFound("message_not_found", f"no message {message_id!r}", "message_id")
            return message_view(row, store.history(conn, message_id))

    def for_profile(self, profile_id: str, limit: int = 50) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            live = chain.resolve_live(conn, profile_id)
            if live is None:
                raise NotFound("profile_not_found", f"no profile {profile_id!r}", "profile_id")
            rows = conn.execute(
                select(messages)
                .where(messages.c.profile_id == live)
                .order_by(messages.c.created_at.desc(), messages.c.id)
                .limit(limit)
            )
            return [message_view(r) for r in rows]

    def list_messages(self, status: str | None, limit: int = 50) -> list[dict[str, Any]]:
        stmt = select(messages).order_by(messages.c.created_at.desc(), messages.c.id).limit(limit)
        if status is not None:
            stmt = stmt.where(messages.c.status == status)
        with read_tx(self._engine) as conn:
            return [message_view(r) for r in conn.execute(stmt)]

    def retry(self, message_id: str, actor: str) -> dict[str, Any]:
        """Put a failed message back into the outbox (after its cause was fixed)."""
        now = self._clock.now()

        def work(conn: Connection) -> None:
            row = store.message(conn, message_id)
            if row is None:
                raise NotFound("message_not_found", f"no message {message_id!r}", "message_id")
            if row.status != Status.FAILED.value:
                raise Conflict("not_failed", f"only failed messages can be retried; this one is {row.status}")
            conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(
                    status=Status.QUEUED.value, due_at=now, attempts=0, claimed_until=None, updated_at=now
                )
            )
            store.add_status(conn, message_id, row.profile_id, Status.QUEUED.value, now, {"retry_by": actor})

        run_write(self._engine, work)
        self._announce([message_id])
        return self.get(message_id)

    def stats(self, since: datetime | None = None) -> dict[str, Any]:
        """Messages per channel and template by status, and per-channel delivery rates."""
        stmt = select(
            messages.c.channel,
            messages.c.template,
            message_statuses.c.status,
            func.count(func.distinct(messages.c.id)),
        ).join(message_statuses, message_statuses.c.message_id == messages.c.id)
        if since is not None:
            stmt = stmt.where(messages.c.created_at >= since)
        stmt = stmt.group_by(messages.c.channel, messages.c.template, message_statuses.c.status)
        by_channel: dict[str, dict[str, int]] = {}
        by_template: dict[str, dict[str, int]] = {}
        with read_tx(self._engine) as conn:
            for channel, template, status, count in conn.execute(stmt):
                ch = by_channel.setdefault(channel or "none", {})
                ch[status] = ch.get(status, 0) + int(count)
                tp = by_template.setdefault(template or "(inline)", {})
                tp[status] = tp.get(status, 0) + int(count)
        return {
            "since": isoformat(since),
            "channels": [{"channel": k, "statuses": v, **_rates(v)} for k, v in sorted(by_channel.items())],
            "templates": [
                {"template": k, "statuses": v, **_rates(v)} for k, v in sorted(by_template.items())
            ],
        }

    # -- status changes from outside: unsubscribe, clicks, opens, provider callbacks ----------

    def unsubscribe(self, token: str, proof: dict[str, Any]) -> dict[str, Any]:
        """One-click unsubscribe (RFC 8058): withdraw the consent the message relied on, at once."""
        body = self._signer.open("unsubscribe", token)
        message_id, profile_id, channel, purpose = body["m"], body["p"], body["c"], body["u"]
        with read_tx(self._engine) as conn:
            live = chain.resolve_live(conn, profile_id)
        if live is None:  # erased meanwhile: nobody left to unsubscribe
            return {"profile_id": None, "purpose": purpose, "channel": channel}
        self.consent.record(
            live,
            [
                ConsentChange(
                    purpose=purpose,
                    status=ConsentStatus.WITHDRAWN,
                    channel=channel,
                    proof={
                        "message_id": message_id,
                        "link": "one-click unsubscribe",
                        "jti": body["jti"],
                        **proof,
                    },
                    occurred_at=self._clock.now(),
                )
            ],
            source="unsubscribe",
        )
        self.record_status(message_id, Status.UNSUBSCRIBED, {"purpose": purpose})
        return {"profile_id": live, "purpose": purpose, "channel": channel}

    def click(self, token: str) -> str:
        body = self._signer.open("click", token)
        url = str(body["url"])
        self.record_status(str(body["m"]), Status.CLICKED, {"url": url})
        return url

    def opened(self, token: str) -> None:
        body = self._signer.open("open", token)
        self.record_status(str(body["m"]), Status.OPENED, {})

    def provider_status(
        self, provider_id: str, status: Status, detail: dict[str, Any], message_id: str | None = None
    ) -> bool:
        """A provider's report on a message, by our id (from the signed callback URL) or its own."""
        with read_tx(self._engine) as conn:
            if message_id is not None:
                row = conn.execute(
                    select(messages.c.id, messages.c.provider_id).where(messages.c.id == message_id)
                ).first()
                if row is None or row.provider_id not in (None, provider_id):
                    return False
            else:
                message_id = conn.execute(
                    select(messages.c.id).where(messages.c.provider_id == provider_id)
                ).scalar()
        if message_id is None:
            return False
        self.record_status(str(message_id), status, detail)
        return True

    def report(self, report: Report) -> dict[str, Any]:
        """A bounce or complaint report (``messaging.reports``): mark the message, suppress the address."""
        found = None
        if report.message_id:
            with read_tx(self._engine) as conn:
                found = store.message(conn, report.message_id)
            if found is None and not report.recipient:
                raise NotFound("unknown_message", f"messageId: no message {report.message_id!r}", "messageId")
        if not report.hard:
            return {"message_id": found.id if found else None, "status": None, "suppressed": False}
        status = Status.COMPLAINED if report.kind == "complaint" else Status.BOUNCED
        if found is not None:
            detail = {"report": report.kind, "diagnostic": report.diagnostic}
            self.record_status(found.id, status, {k: v for k, v in detail.items() if v})
        address = report.recipient or (
            found.address if found is not None and found.channel == "email" else None
        )
        if address:
            reason = "complaint" if report.kind == "complaint" else "hard_bounce"
            self.consent.suppress("email", address, reason)
        return {
            "message_id": found.id if found else None,
            "status": status.value,
            "suppressed": bool(address),
        }

    def record_status(self, message_id: str, status: Status, detail: dict[str, Any]) -> None:
        """A later status of a sent message; repeated reports are recorded once, and the status
        only moves forward (a late "delivered" does not undo "clicked")."""
        now = self._clock.now()
        self.messaging_source()

        def work(conn: Connection) -> None:
            row = store.message(conn, message_id)
            if row is None:
                return
            seen = conn.execute(
                select(func.count()).where(
                    and_(
                        message_statuses.c.message_id == message_id, message_statuses.c.status == status.value
                    )
                )
            ).scalar_one()
            if seen:
                return
            store.add_status(conn, message_id, row.profile_id, status.value, now, detail)
            if STATUS_RANK.get(status, 0) > STATUS_RANK.get(row.status, 0):
                conn.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(status=status.value, updated_at=now)
                )
            self.touchpoints(conn, [(row, status, now, detail)])

        run_write(self._engine, work)

    # -- the timeline --------------------------------------------------------------------------

    def _announce(self, message_ids: list[str]) -> None:
        for listener in self._enqueued:
            listener(message_ids)

    def messaging_source(self) -> Source:
        """The source our own touchpoints come from; call it outside a write transaction (it may
        create the source, and SQLite has one writer)."""
        with self._source_lock:
            if self._source is None:
                try:
                    self._source = self._sources.get(MESSAGING_SOURCE)
                except NotFound:
                    try:
                        self._source, _ = self._sources.create(MESSAGING_SOURCE, "other")
                    except Exception:  # another process made it first
                        self._source = self._sources.get(MESSAGING_SOURCE)
            return self._source

    def touchpoints(
        self, conn: Connection, changes: Sequence[tuple[Any, Status, datetime, Mapping[str, Any]]]
    ) -> None:
        """Each status becomes an event on the customer's timeline, on the message's channel."""
        if not changes:
            return
        source = self.messaging_source()
        keys = _timeline_keys(conn, {row.profile_id for row, *_ in changes})
        items: list[dict[str, Any]] = []
        for row, status, at, detail in changes:
            key = keys.get(row.profile_id)
            if key is None:  # an erased profile gets no new events
                continue
            event: dict[str, Any] = {
                "type": "track",
                "event": TIMELINE_EVENT.get(status, f"Message {status.value.title()}"),
                "messageId": f"{row.id}:{status.value}",
                "timestamp": isoformat(at),
                "properties": {
                    "message_id": row.id,
                    "channel": row.channel,
                    "template": row.template,
                    "purpose": row.purpose,
                    "transactional": row.transactional,
                    "status": status.value,
                    **{k: v for k, v in detail.items() if k in ("reason", "url", "error")},
                    **({"campaign": c} if (c := campaign_of(getattr(row, "data", None))) else {}),
                },
                "context": {"touchpoint": {"channel": TIMELINE_CHANNEL.get(row.channel or "", "other")}},
            }
            items.append(_addressed(event, key))
        if items:
            submission = self._ingest.prepare(source, items)
            self._ingest.write(conn, [submission])

    def _task_done_touchpoint(self, conn: Connection, row: Any, source: Source) -> None:
        """A finished task on the customer's timeline with its outcome, in the completion's transaction."""
        key = _timeline_keys(conn, {row.profile_id}).get(row.profile_id)
        if key is None:  # erased meanwhile
            return
        queue = str(row.queue)
        channel = "hotline" if queue == "hotline" else "store" if queue.startswith("store:") else "other"
        event: dict[str, Any] = {
            "type": "track",
            "event": TASK_COMPLETED,
            "messageId": f"{row.id}:done",
            "timestamp": isoformat(row.completed_at),
            "properties": {
                "task_id": row.id,
                "queue": queue,
                "kind": row.kind,
                "title": row.title,
                "outcome": row.outcome,
                "completed_by": row.claimed_by,
            },
            "context": {"touchpoint": {"channel": channel}},
        }
        self._ingest.write(conn, [self._ingest.prepare(source, [_addressed(event, key)])])

    # -- staff tasks ---------------------------------------------------------------------------

    def tasks(self, queue: str, status: str | None, limit: int, context: Any) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            rows = store.open_tasks(conn, queue, status, limit)
        return [task_view(r, context(r.profile_id)) for r in rows]

    def claim_task(self, task_id: str, actor: str) -> dict[str, Any]:
        now = self._clock.now()

        def work(conn: Connection) -> Any:
            result = conn.execute(
                update(staff_tasks)
                .where(staff_tasks.c.id == task_id, staff_tasks.c.status == "open")
                .values(status="claimed", claimed_by=actor, claimed_at=now)
            )
            row = conn.execute(select(staff_tasks).where(staff_tasks.c.id == task_id)).first()
            if row is None:
                raise NotFound("task_not_found", f"no task {task_id!r}", "task_id")
            if result.rowcount == 0 and row.claimed_by != actor:
                raise Conflict("task_taken", f"the task is {row.status} by {row.claimed_by}")
            return row

        return task_view(run_write(self._engine, work), None)

    def complete_task(self, task_id: str, actor: str, outcome: str | None) -> dict[str, Any]:
        now = self._clock.now()

        def work(conn: Connection) -> Any:
            row = conn.execute(select(staff_tasks).where(staff_tasks.c.id == task_id)).first()
            if row is None:
                raise NotFound("task_not_found", f"no task {task_id!r}", "task_id")
            if row.status == "done":
                raise Conflict("task_done", "the task is done already")
            if row.status == "claimed" and row.claimed_by != actor:
                raise Conflict("task_taken", f"the task is claimed by {row.claimed_by}")
            conn.execute(
                update(staff_tasks)
                .where(staff_tasks.c.id == task_id)
                .values(status="done", completed_at=now, outcome=outcome, claimed_by=row.claimed_by or actor)
            )
            done = conn.execute(select(staff_tasks).where(staff_tasks.c.id == task_id)).first()
            self._task_done_touchpoint(conn, done, source)
            return done

        source = self.messaging_source()  # before the write: creating it takes a transaction
        return task_view(run_write(self._engine, work), None)

    def task_queue(self, task_id: str) -> str:
        with read_tx(self._engine) as conn:
            queue = conn.execute(select(staff_tasks.c.queue).where(staff_tasks.c.id == task_id)).scalar()
        if queue is None:
            raise NotFound("task_not_found", f"no task {task_id!r}", "task_id")
        return str(queue)


def _timeline_keys(conn: Connection, wanted: set[str]) -> dict[str, tuple[str, str]]:
    """The identifier that leads ingest to each profile: a user id, else an anonymous id, email, phone."""
    keys: dict[str, tuple[str, str]] = {}
    order = {"user_id": 0, "anonymous_id": 1, "email": 2, "phone": 3}
    for profile_id, kind, value in profiles.identifiers_of_many(conn, wanted):
        best = keys.get(profile_id)
        if best is None or order.get(kind, 9) < order.get(best[0], 9):
            keys[profile_id] = (kind, value)
    return keys


def _addressed(event: dict[str, Any], key: tuple[str, str]) -> dict[str, Any]:
    if key[0] == "user_id":
        event["userId"] = key[1]
    elif key[0] == "anonymous_id":
        event["anonymousId"] = key[1]
    else:
        event["context"]["externalIds"] = [{"type": key[0], "id": key[1]}]
    return event


def task_view(row: Any, context: dict[str, Any] | None) -> dict[str, Any]:
    view = {
        "id": row.id,
        "profile_id": row.profile_id,
        "message_id": row.message_id,
        "queue": row.queue,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "status": row.status,
        "claimed_by": row.claimed_by,
        "claimed_at": isoformat(row.claimed_at),
        "completed_at": isoformat(row.completed_at),
        "outcome": row.outcome,
        "created_at": isoformat(row.created_at),
    }
    if context is not None:
        view["customer"] = context
    return view


def _rates(statuses: dict[str, int]) -> dict[str, Any]:
    sent = sum(statuses.get(s, 0) for s in ("sent",))
    delivered = statuses.get("delivered", 0)
    return {
        "sent": sent,
        "delivery_rate": round(delivered / sent, 4) if sent else None,
        "open_rate": round(statuses.get("opened", 0) / sent, 4) if sent else None,
        "click_rate": round(statuses.get("clicked", 0) / sent, 4) if sent else None,
    }
