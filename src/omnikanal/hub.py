"""The composition root: settings, engine, clock and every service, wired in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from omnikanal.analytics.jobs import RefreshJob
from omnikanal.analytics.service import Analytics
from omnikanal.analytics.wiring import build_analytics
from omnikanal.audit.service import AuditTrail
from omnikanal.auth.service import TokenService
from omnikanal.clock import Clock, SystemClock
from omnikanal.commerce.service import Commerce, build_commerce
from omnikanal.consent.service import ConsentConfig, ConsentService
from omnikanal.consent.suppression import SuppressionList
from omnikanal.db.checkpoint import Checkpointer
from omnikanal.db.engine import make_engine, make_hot_read_engine
from omnikanal.db.migrate import upgrade
from omnikanal.errors import NotFound
from omnikanal.eventlog.partitions import PartitionJob
from omnikanal.eventlog.runner import ProcessorRunner
from omnikanal.eventlog.service import EventLog, Processor
from omnikanal.eventlog.watch import LogWatch
from omnikanal.ingest.service import IngestService
from omnikanal.ingest.writer import IngestWriter
from omnikanal.journeys.engine import JourneyEngine
from omnikanal.journeys.jobs import DateScan, JourneyProcessor, TimerWorker
from omnikanal.journeys.model import JourneyLimits
from omnikanal.journeys.privacy import JourneyData
from omnikanal.journeys.service import JourneyService
from omnikanal.listeners import Listeners
from omnikanal.matching.jobs import MatchJob
from omnikanal.matching.service import MatchingService
from omnikanal.matching.wiring import build_matching
from omnikanal.messaging.dispatcher import Dispatcher
from omnikanal.messaging.privacy import MessagingPersonalData
from omnikanal.messaging.service import MessagingService
from omnikanal.messaging.wiring import build_messaging
from omnikanal.privacy.jobs import RetentionJob, parse_rules
from omnikanal.privacy.parts import ConsentData, CoreData, PrivacyData
from omnikanal.privacy.service import PrivacyRegistry, PrivacyService
from omnikanal.profiles.identity.model import IdentityRules
from omnikanal.profiles.model import TraitRules
from omnikanal.profiles.service import ProfileService
from omnikanal.recommend.branching import RecommendedBranches
from omnikanal.recommend.channel_service import ChannelScoreService
from omnikanal.recommend.channels import ChannelParams
from omnikanal.recommend.jobs import ChannelsProcessor, InteractionsProcessor, TrainingJob
from omnikanal.recommend.model import TrainParams
from omnikanal.recommend.privacy import RecommendPersonalData
from omnikanal.recommend.service import RecommendService
from omnikanal.segments.jobs import RecheckJob, SegmentProcessor
from omnikanal.segments.model import Limits
from omnikanal.segments.service import SegmentData, SegmentService
from omnikanal.service.service import Service, build_service
from omnikanal.settings import Settings
from omnikanal.signing import Signer, load_secret
from omnikanal.sources.service import SourceService
from omnikanal.staff.service import StaffService


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    # single-statement reads on hot paths (the contact question); the main engine on SQLite
    hot_engine: Engine
    clock: Clock
    sources: SourceService
    tokens: TokenService
    ingest: IngestService
    writer: IngestWriter
    profiles: ProfileService
    audit: AuditTrail
    eventlog: EventLog
    runner: ProcessorRunner
    checkpointer: Checkpointer
    signer: Signer
    consent: ConsentService
    privacy: PrivacyService
    retention: RetentionJob
    messaging: MessagingService
    dispatcher: Dispatcher
    commerce: Commerce
    segments: SegmentService
    segment_recheck: RecheckJob
    staff: StaffService
    journeys: JourneyService
    journey_worker: TimerWorker
    journey_dates: DateScan
    watch: LogWatch
    analytics: Analytics
    analytics_refresh: RefreshJob
    matching: MatchingService
    match_job: MatchJob
    service: Service
    partitions: PartitionJob
    recommend: RecommendService
    recommend_training: TrainingJob
    recommend_channels: ChannelScoreService
    processors: list[Processor] = field(default_factory=list)

    def start(self, *, api: bool = True, worker: bool = True, heavy_jobs: bool = True) -> None:
        """Start the background work of a process in these roles.

        ``api``: what the request path needs (the ingest writer, the access-log flush, checkpoints).
        ``worker``: everything that follows from what was stored (the event-log processors, the
        dispatcher, timers, scheduled jobs; ``heavy_jobs=False`` leaves out those that
        ``child_jobs`` runs in child processes). ``omnikanal serve`` runs the two in separate processes so
        that no listener of the log takes CPU or the write lock from ingest; tests and the CLI may run
        both in one process.
        """
        if api:
            self.consent.suppression.warm()
            self.writer.start()
            self.audit.start()
            self.checkpointer.start()
        # inbound mail over SMTP is received like a request (API role); SLA watch and IMAP poll: worker
        self.service.start(api=api, worker=worker, sla_watch=self.settings.service_sla_check_seconds > 0)
        if worker:
            self.runner.start()
            if not api:
                # the API is another process: its commits are seen through the database
                self.watch.start()
            self.dispatcher.start()
            if self.settings.retention_interval_seconds > 0:
                self.retention.start()
            self.commerce.start()
            if self.settings.segment_recheck_seconds > 0:
                self.segment_recheck.start()
            if self.settings.journey_worker_poll_seconds > 0:
                self.journey_worker.start()
            if self.settings.journey_date_scan_seconds > 0:
                self.journey_dates.start()
            if heavy_jobs and self.settings.analytics_refresh_seconds > 0:
                self.analytics_refresh.start()
            if self.settings.matching_interval_seconds > 0:
                self.match_job.start()
            if self.settings.events_partition_check_seconds > 0 and self.engine.dialect.name == "postgresql":
                self.partitions.start()
            if heavy_jobs and self.settings.recommend_train_seconds > 0:
                self.recommend_training.start()

    def stop(self) -> None:
        self.recommend_training.stop()
        self.partitions.stop()
        self.match_job.stop()
        self.analytics_refresh.stop()
        self.service.stop()
        self.journey_dates.stop()
        self.journey_worker.stop()
        self.segment_recheck.stop()
        self.dispatcher.stop()
        self.commerce.stop()
        self.retention.stop()
        self.watch.stop()
        self.runner.stop()
        self.writer.stop()
        self.audit.stop()
        self.checkpointer.stop()

    def close(self) -> None:
        self.stop()
        if self.hot_engine is not self.engine:
            self.hot_engine.dispose()
        self.engine.dispose()


def build_hub(settings: Settings, clock: Clock | None = None, *, migrate: bool | None = None) -> Hub:
    clock = clock or SystemClock()
    engine = make_engine(settings)
    if settings.auto_migrate if migrate is None else migrate:
        upgrade(engine)
    identity_rules = IdentityRules(
        junk_values=frozenset(v.lower() for v in settings.junk_identifier_values),
        default_region=settings.default_phone_region,
        identifier_traits=dict(settings.identifier_traits),
        limits=dict(settings.identifier_limits),
        default_limit=settings.default_identifier_limit,
    )
    trait_rules = TraitRules(source_priority={k: tuple(v) for k, v in settings.trait_source_priority.items()})
    # Every listener between capabilities is registered here, below, before anything runs.
    listeners = Listeners()
    writers = settings.ingest_writers or (1 if engine.dialect.name == "sqlite" else 2)
    eventlog = EventLog(engine, clock)
    processors: list[Processor] = []
    signer = Signer(load_secret(settings.secret_key, settings.data_dir), clock)
    suppression = SuppressionList(engine, identity_rules)
    hot_engine = make_hot_read_engine(engine)
    consent = ConsentService(
        engine,
        clock,
        signer,
        suppression,
        ConsentConfig(
            purposes=settings.consent_purposes,
            public_url=settings.public_url,
            confirm_valid=timedelta(days=settings.consent_confirm_days),
            preferences_valid=timedelta(days=settings.preference_link_days),
        ),
        hot_engine,
    )
    # Consent changes sent as events commit with the event; erased persons' events are dropped.
    ingest = IngestService(
        engine,
        clock,
        identity_rules,
        trait_rules,
        settings.max_event_bytes,
        listeners=listeners,
        hooks=(consent,),
        suppressor=suppression,
    )
    profiles = ProfileService(engine, clock, identity_rules, trait_rules, listeners)
    sources = SourceService(engine, clock)
    commerce = build_commerce(settings, engine, clock, ingest, sources, listeners)
    processors.append(commerce.processor)
    analytics = build_analytics(settings, engine, clock, profiles.live_id)
    recommend = RecommendService(
        engine,
        clock,
        profiles,
        consent,
        commerce.facts,
        TrainParams(
            factors=settings.recommend_factors,
            iterations=settings.recommend_iterations,
            window_days=settings.recommend_window_days,
        ),
    )
    # interactions with products, from views to returns; only those events' names are read
    processors.append(InteractionsProcessor())
    # next best channel and best hour: messages and the reactions to them (those names only)
    channel_scores = ChannelScoreService(engine, clock, profiles, consent, ChannelParams.of(settings))
    processors.append(ChannelsProcessor(channel_scores))
    # a known customer's scan suggests from their recommendations (with personalisation consent)
    listeners.scan_suggestions.append(recommend.scan_suggestions)
    # touchpoints copied before a merge are re-keyed to the surviving profile by the refresh job
    listeners.profiles_merged.append(analytics.service.merged)
    matching = build_matching(settings, engine, clock, identity_rules, trait_rules, listeners)
    registry = PrivacyRegistry()
    # Capabilities holding personal data register here; erasure runs them in reverse order, so the
    # core part (the profile itself) goes last.
    for part in (
        CoreData(),
        ConsentData(),
        PrivacyData(),
        commerce.personal_data,
        MessagingPersonalData(),
        SegmentData(),
        JourneyData(),
        analytics.personal_data,
        matching.personal_data,
        RecommendPersonalData(recommend.erased_from_cache),
    ):
        registry.register(part)
    segments = SegmentService(
        engine,
        clock,
        Limits(settings.segment_max_depth, settings.segment_max_leaves, settings.segment_max_window_days),
        settings.segment_recheck_batch,
    )
    processors.append(SegmentProcessor(segments, clock))
    # ROPO per segment reads the members through the segments capability's public service
    analytics.service.segments = segments
    # a merge made by an event the segments processor skips by its name still reaches the re-check
    listeners.profiles_merged.append(segments.merged)
    # Unmerges, restrictions and rectifications announce no event: segments re-check those profiles.
    listeners.profiles_changed.append(segments.mark_due)
    privacy = PrivacyService(engine, clock, registry, suppression, profiles, listeners)
    messaging, dispatcher = build_messaging(
        settings,
        engine,
        clock,
        signer,
        ingest,
        sources,
        consent=consent,
        listeners=listeners,
        recommendations=recommend.for_template,
        # messaging asks recommend through these ports, never by importing it
        channel_scores=channel_scores,
        send_times=channel_scores,
    )
    # Journeys come after segments in the processor list, so a Segment Entered event written by the
    # segments processor is seen by the journeys processor on its next round.
    journey_engine = JourneyEngine(
        messaging,
        segments,
        JourneyLimits(
            settings.journey_max_steps, settings.journey_max_wait_days, settings.journey_max_document_bytes
        ),
        segments.limits,
        settings.messaging_default_timezone,
        # a branch on the customer's recommendations asks recommend through this port
        RecommendedBranches(recommend),
    )
    processors.append(JourneyProcessor(journey_engine, clock))
    processors.append(analytics.processor)
    processors.append(matching.processor)
    service = build_service(
        settings, engine, clock, ingest, sources, messaging, profiles, signer, _store_hours(commerce)
    )
    # cases and their entries go before the core part in erasure (reverse order of registration)
    registry.register(service.personal_data)
    # texts that are no STOP/START keyword join the sender's case (in the webhook's request)
    listeners.texts_received.append(service.texts.receive)
    runner = ProcessorRunner(eventlog, processors, settings.worker_poll_seconds)
    listeners.events_committed.append(runner.wake)
    return Hub(
        settings=settings,
        engine=engine,
        hot_engine=hot_engine,
        clock=clock,
        sources=sources,
        tokens=TokenService(engine, clock),
        ingest=ingest,
        writer=IngestWriter(ingest, writers, settings.ingest_group_events),
        profiles=profiles,
        audit=AuditTrail(engine, clock),
        eventlog=eventlog,
        runner=runner,
        checkpointer=Checkpointer(engine, settings.sqlite_checkpoint_seconds),
        signer=signer,
        consent=consent,
        privacy=privacy,
        retention=RetentionJob(
            engine,
            clock,
            registry,
            parse_rules(settings.retention_days),
            settings.retention_anonymous_profile_days,
            settings.retention_batch_size,
            settings.retention_interval_seconds,
        ),
        messaging=messaging,
        dispatcher=dispatcher,
        commerce=commerce,
        segments=segments,
        segment_recheck=RecheckJob(
            segments, clock, settings.segment_recheck_seconds, settings.segment_batch_recheck_seconds
        ),
        staff=StaffService(engine, clock, settings),
        journeys=JourneyService(engine, clock, journey_engine),
        journey_worker=TimerWorker(
            engine,
            journey_engine,
            clock,
            settings.journey_worker_batch,
            settings.journey_worker_poll_seconds,
            settings.journey_test_pause_file,
            settings.journey_test_pause_seconds,
        ),
        journey_dates=DateScan(
            engine,
            journey_engine,
            clock,
            settings.journey_date_scan_seconds,
            settings.messaging_default_timezone,
            settings.journey_date_scan_page,
        ),
        watch=LogWatch(engine, settings.worker_watch_seconds, (runner.wake,)),
        analytics=analytics.service,
        analytics_refresh=analytics.refresh_job,
        service=service,
        processors=processors,
        matching=matching.service,
        match_job=matching.job,
        partitions=PartitionJob(
            engine, clock, settings.events_partition_months_ahead, settings.events_partition_check_seconds
        ),
        recommend=recommend,
        recommend_training=TrainingJob(
            recommend.train, settings.recommend_train_seconds, channel_scores.refresh
        ),
        recommend_channels=channel_scores,
    )


def _store_hours(commerce: Commerce) -> Callable[[str], tuple[dict[str, Any], str] | None]:
    """A store's opening hours and time zone, for the SLA clock of its service queue."""

    def hours(location_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            found = commerce.catalogue.location(location_id)
        except NotFound:
            return None
        return found["opening_hours"], found["timezone"]

    return hours
