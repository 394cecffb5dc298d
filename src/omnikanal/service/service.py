"""The service capability assembled: the desk (cases), the mail intake with its SMTP listener and
its IMAP poller, the satisfaction survey and the figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.commerce.touchpoints import Touchpoints
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict
from omnikanal.ingest.service import IngestService
from omnikanal.messaging.service import MessagingService
from omnikanal.profiles.service import ProfileService
from omnikanal.settings import Settings
from omnikanal.signing import Signer
from omnikanal.sources.service import SourceService

from . import mailboxes, sla, store
from .attachments import AttachmentFiles, AttachmentLimits
from .calls import CallLog
from .cases import DeskConfig, ServiceDesk
from .figures import figures
from .hooks import ChannelHooks, check_secrets
from .imap import MailboxConfig, MailboxPoller
from .inbound import MailIntake
from .jobs import SlaWatch
from .macros import MacroBook
from .merge import CaseMerger
from .model import ORIGIN, RATED, STATUS_PATTERN
from .privacy import ServicePersonalData
from .retention import Retention
from .smtp import MailListener
from .texts import TextIntake


@dataclass
class Service:
    desk: ServiceDesk
    intake: MailIntake
    texts: TextIntake
    listener: MailListener | None
    personal_data: ServicePersonalData
    watch: SlaWatch
    macros: MacroBook
    merger: CaseMerger
    retention: Retention
    hooks: ChannelHooks
    files: AttachmentFiles
    calls: CallLog
    poller: MailboxPoller | None = None  # the support mailbox over IMAP, when a host is set
    poll_mailbox: bool = False  # the poller runs by itself (else only when run_once is called)

    def start(self, *, api: bool, worker: bool, sla_watch: bool) -> None:
        """The listener for inbound mail runs in the API role; the SLA watch and the mailbox poller
        in the worker role."""
        if api and self.listener is not None:
            self.listener.start()
        if worker and sla_watch:
            self.watch.start()
        if worker:
            self.retention.start()
        if worker and self.poller is not None and self.poll_mailbox:
            self.poller.start()

    def stop(self) -> None:
        self.watch.stop()
        self.retention.stop()
        if self.poller is not None:
            self.poller.stop()
        if self.listener is not None:
            self.listener.stop()

    def rate(self, token: str, score: int, comment: str | None) -> dict[str, Any]:
        """Record a survey answer (one per case; a second one is a Conflict)."""
        desk = self.desk
        case_id = desk.csat_case(token)

        def work(conn: Any) -> None:
            case = store.get_case(conn, case_id, lock=True)
            if case is None:
                raise Conflict("case_gone", "the case no longer exists")
            if case.csat_score is not None:
                raise Conflict("already_rated", "this case has been rated already")
            store.update_case(
                conn, case.id, {"csat_score": score, "csat_comment": comment, "csat_at": desk.clock_now()}
            )
            props = {"case_id": case.id, "ref": case.ref, "score": score, "comment": comment}
            desk.emit(conn, case.profile_id, RATED, props, case.channel, f"service:{case.id}:csat")

        desk.write(work)
        return {"case_id": case_id, "score": score}

    def mailboxes(self) -> list[dict[str, Any]]:
        """Each support mailbox the IMAP poller reads: its position and its last poll's outcome."""
        with read_tx(self.desk.engine) as conn:
            return mailboxes.status(conn)

    def figures(self, since: datetime, until: datetime, limit: int) -> dict[str, Any]:
        with read_tx(self.desk.engine) as conn:
            rows = store.decided_cases(conn, since, until, limit)
        return {"since": since, "until": until, "truncated": len(rows) >= limit} | figures(
            rows, self.desk.clock_now()
        )


def _calendars(
    settings: Settings, store_hours: Callable[[str], tuple[dict[str, Any], str] | None] | None
) -> tuple[sla.BusinessHours, dict[str, sla.BusinessHours], Callable[[str], sla.BusinessHours | None]]:
    """The default business hours, those per queue, and a store queue's (its opening hours)."""
    calendars = {
        queue: sla.BusinessHours.parse(
            hours,
            settings.service_timezone,
            settings.service_queue_holiday_states.get(queue, settings.service_holiday_state),
        )
        for queue, hours in settings.service_queue_hours.items()
    }

    def store_calendar(location_id: str) -> sla.BusinessHours | None:
        """A store's opening hours as commerce keeps them; None when it keeps none."""
        if store_hours is None:
            return None
        found = store_hours(location_id)
        if found is None or not any(found[0].values()):
            return None
        state = settings.service_queue_holiday_states.get(f"store:{location_id}")
        return sla.BusinessHours.weekly(found[0], found[1], state or settings.service_holiday_state)

    default = sla.BusinessHours.parse(
        settings.service_business_hours, settings.service_timezone, settings.service_holiday_state
    )
    return default, calendars, store_calendar


def _desk_config(
    settings: Settings, store_hours: Callable[[str], tuple[dict[str, Any], str] | None] | None
) -> DeskConfig:
    calendar, calendars, store_calendar = _calendars(settings, store_hours)
    return DeskConfig(
        calendar=calendar,
        queue_calendars=calendars,
        store_hours=store_calendar,
        sla_hours=dict(settings.service_sla_hours),
        at_risk=settings.service_sla_at_risk,
        public_url=settings.public_url,
        csat_days=settings.service_csat_days,
        mail_queue=settings.service_mail_queue,
        custom_statuses=tuple(settings.service_statuses),
    )


def build_service(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    ingest: IngestService,
    sources: SourceService,
    messaging: MessagingService,
    profiles: ProfileService,
    signer: Signer,
    store_hours: Callable[[str], tuple[dict[str, Any], str] | None] | None = None,
) -> Service:
    """``store_hours`` answers a store's opening hours and time zone (commerce keeps them)."""
    for status in settings.service_statuses:
        if not STATUS_PATTERN.match(status):
            raise ValueError(f"service status {status!r}: lower case letters, digits and _ only")
    config = _desk_config(settings, store_hours)
    touchpoints = Touchpoints(ingest, sources, clock, settings.service_source_name, origin=ORIGIN)
    desk = ServiceDesk(engine, clock, touchpoints, messaging, signer, config)
    limits = AttachmentLimits(
        settings.service_attachment_max_bytes,
        frozenset(t.lower() for t in settings.service_attachment_types),
        settings.service_attachment_max_count,
    )
    intake = MailIntake(desk, ingest, profiles, limits)
    listener = _listener(settings, intake)
    texts = TextIntake(desk, ingest, profiles, settings.service_text_queue)
    watch = SlaWatch(desk, messaging, settings.service_sla_check_seconds, settings.service_sla_batch)
    macros = MacroBook(desk, profiles, settings.messaging_default_locale)
    personal_data = ServicePersonalData(clock, config.at_risk)
    retention = Retention(
        desk,
        settings.service_retention_days,
        settings.service_retention_mode,
        settings.service_retention_seconds,
        settings.service_sla_batch,
    )
    check_secrets(settings.service_webhook_secrets)
    hooks = ChannelHooks(desk, ingest, profiles, settings.service_webhook_queue)
    poller = _poller(settings, intake, desk)
    return Service(
        desk,
        intake,
        texts,
        listener,
        personal_data,
        watch,
        macros,
        CaseMerger(desk),
        retention,
        hooks,
        AttachmentFiles(desk),
        CallLog(desk, hooks, profiles, settings.service_webhook_queue, settings.default_phone_region),
        poller,
        poller is not None and settings.service_imap_poll_seconds > 0,
    )


def _listener(settings: Settings, intake: MailIntake) -> MailListener | None:
    """The SMTP listener for inbound mail; None when no port is set."""
    if settings.service_smtp_port is None:
        return None
    return MailListener(
        intake,
        settings.service_smtp_host,
        settings.service_smtp_port,
        settings.service_smtp_max_bytes,
        settings.service_smtp_domains,
    )


def _poller(settings: Settings, intake: MailIntake, desk: ServiceDesk) -> MailboxPoller | None:
    """The support mailbox's poller; None when no IMAP host is set."""
    if not settings.service_imap_host:
        return None
    tls = settings.service_imap_tls
    config = MailboxConfig(
        host=settings.service_imap_host,
        port=settings.service_imap_port or (993 if tls else 143),
        tls=tls,
        user=settings.service_imap_user,
        password=settings.service_imap_password,
        folder=settings.service_imap_folder,
        move_to=settings.service_imap_move_to,
        batch=settings.service_imap_batch,
        timeout=settings.service_imap_timeout_seconds,
        max_bytes=settings.service_smtp_max_bytes,
    )
    return MailboxPoller(intake, desk.engine, desk.clock_now, config, settings.service_imap_poll_seconds)
