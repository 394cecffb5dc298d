"""Builds the messaging service, its channel adapters and its dispatcher from the settings."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.ingest.service import IngestService
from omnikanal.listeners import Listeners
from omnikanal.messaging.channels import Channel
from omnikanal.messaging.channels.email import EmailChannel, SmtpConfig
from omnikanal.messaging.channels.push import PushChannel, PushConfig, load_vapid_key
from omnikanal.messaging.channels.sms import TwilioChannel
from omnikanal.messaging.channels.tasks import TaskChannel
from omnikanal.messaging.channels.webhook import WebhookChannel, derived_secret, parse_networks
from omnikanal.messaging.dispatcher import Dispatcher
from omnikanal.messaging.gate import ConsentPort
from omnikanal.messaging.jobs import CommerceNotifier, ConfirmationMailer
from omnikanal.messaging.model import Policy, QuietHours
from omnikanal.messaging.ports import ChannelScores, SendTimes
from omnikanal.messaging.push import PushSubscriptions
from omnikanal.messaging.service import MessagingService
from omnikanal.settings import Settings
from omnikanal.signing import Signer
from omnikanal.sources.service import SourceService


def policy_from(settings: Settings) -> Policy:
    return Policy(
        default_timezone=settings.messaging_default_timezone,
        quiet_hours={k: QuietHours.parse(v) for k, v in settings.messaging_quiet_hours.items()},
        quiet_hours_transactional=settings.messaging_quiet_hours_transactional,
        cap_count=settings.messaging_cap_count,
        cap_days=settings.messaging_cap_days,
        channel_caps=dict(settings.messaging_channel_caps),
        auto_fallback=tuple(settings.messaging_auto_fallback),
    )


def vapid_subject(settings: Settings) -> str:
    """The contact in the VAPID JWT (RFC 8292 section 2.1): mailto: or https:."""
    if settings.push_vapid_subject:
        return settings.push_vapid_subject
    if settings.public_url.startswith("https://"):
        return settings.public_url.rstrip("/")
    return "mailto:" + (parseaddr(settings.smtp_from)[1] or "noreply@omnikanal.invalid")


def build_messaging(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    signer: Signer,
    ingest: IngestService,
    sources: SourceService,
    consent: ConsentPort,
    listeners: Listeners,
    recommendations: Callable[[str], list[dict[str, Any]]] | None = None,
    channel_scores: ChannelScores | None = None,
    send_times: SendTimes | None = None,
) -> tuple[MessagingService, Dispatcher]:
    push = PushSubscriptions(engine, clock, ingest)
    vapid = load_vapid_key(settings.push_vapid_private_key, settings.data_dir)
    push_channel = PushChannel(
        vapid,
        PushConfig(
            subject=vapid_subject(settings),
            ttl_seconds=settings.push_ttl_seconds,
            timeout=settings.push_timeout_seconds,
            max_payload_bytes=settings.push_max_payload_bytes,
            allow_private=settings.push_allow_private,
        ),
        push.active,
        push.expire,
    )
    service = MessagingService(
        engine,
        clock,
        signer,
        consent,
        ingest,
        sources,
        public_url=settings.public_url,
        default_locale=settings.messaging_default_locale,
        link_days=settings.messaging_link_days,
        purposes=tuple(settings.consent_purposes),
        push=push,
        push_public_key=push_channel.public_key,
        stop_keywords=frozenset(settings.sms_stop_keywords),
        start_keywords=frozenset(settings.sms_start_keywords),
        listeners=listeners,
        recommendations=recommendations,
        send_times=send_times,
        default_timezone=settings.messaging_default_timezone,
    )
    channels = _channels(settings, engine, clock, signer, service, push_channel)
    dispatcher = Dispatcher(
        engine,
        clock,
        service,
        channels,
        policy_from(settings),
        batch_size=settings.messaging_batch_size,
        max_attempts=settings.messaging_max_attempts,
        retry_base_seconds=settings.messaging_retry_base_seconds,
        retry_max_seconds=settings.messaging_retry_max_seconds,
        poll_seconds=settings.messaging_poll_seconds,
        rates=dict(settings.messaging_rate_per_second),
        webhook_url=settings.webhook_url,
        pipeline=settings.messaging_pipeline_batches,
        jobs=(ConfirmationMailer(engine, service, consent), CommerceNotifier(engine, service)),
        channel_scores=channel_scores,
    )
    if settings.messaging_dispatch_inline:
        listeners.messages_enqueued.append(lambda ids: _dispatch(dispatcher, ids))
    return service, dispatcher


def _dispatch(dispatcher: Dispatcher, message_ids: list[str]) -> None:
    dispatcher.run_once(message_ids)


def _channels(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    signer: Signer,
    service: MessagingService,
    push_channel: PushChannel,
) -> dict[str, Channel]:
    smtp = (
        SmtpConfig(
            settings.smtp_url,
            settings.smtp_from,
            settings.messaging_list_id,
            settings.smtp_connections,
            settings.smtp_timeout_seconds,
        )
        if settings.smtp_url
        else None
    )
    twilio = {
        name: TwilioChannel(
            name,
            settings.twilio_base_url,
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            sender,
            service.status_callback_url(),
            settings.twilio_timeout_seconds,
        )
        for name, sender in (("sms", settings.twilio_from), ("whatsapp", settings.twilio_whatsapp_from))
    }
    return {
        "email": EmailChannel(smtp),
        **twilio,
        "webhook": WebhookChannel(
            settings.webhook_secret or derived_secret(signer.key),
            settings.webhook_allow_private,
            settings.webhook_timeout_seconds,
            clock,
            allowed_networks=parse_networks(settings.webhook_allowed_networks),
        ),
        "task": TaskChannel(engine, clock),
        "push": push_channel,
    }
