"""Builds the analytics capability from the settings (called by the composition root only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.jobs import AnalyticsProcessor, RefreshJob
from omnikanal.analytics.privacy import AnalyticsData
from omnikanal.analytics.query import Limits
from omnikanal.analytics.service import Analytics, Config
from omnikanal.analytics.usage import Rates
from omnikanal.clock import Clock
from omnikanal.settings import Settings


@dataclass
class AnalyticsParts:
    service: Analytics
    processor: AnalyticsProcessor
    refresh_job: RefreshJob
    personal_data: AnalyticsData


def build_analytics(
    settings: Settings, engine: Engine, clock: Clock, live_id: Callable[[str], str]
) -> AnalyticsParts:
    limits = Limits(
        default_lookback=timedelta(days=settings.analytics_lookback_days),
        max_lookback=timedelta(days=settings.analytics_max_lookback_days),
        max_period=timedelta(days=settings.analytics_max_period_days),
        half_life=timedelta(days=settings.analytics_half_life_days),
        conversion=settings.analytics_conversion_event,
    )
    config = Config(
        limits,
        settings.analytics_currency.upper(),
        settings.analytics_engine,
        settings.analytics_max_cost_rows,
        Rates(
            sms_segment=settings.analytics_sms_segment_price,
            whatsapp_conversation=settings.analytics_whatsapp_conversation_price,
            emails_per_1000=settings.analytics_email_price_per_1000,
            push=settings.analytics_push_price,
            task_minutes=settings.analytics_task_minutes,
            case_minutes=settings.analytics_case_minutes,
            hourly=dict(settings.analytics_hourly_rates),
            monthly=dict(settings.analytics_fixed_monthly_costs),
        ),
        backend=settings.analytics_backend,
        spark_master=settings.spark_master,
        spark_memory=settings.spark_driver_memory,
        clv_discount_rate=settings.analytics_clv_discount_rate,
        gross_margin=settings.analytics_gross_margin,
    )
    folder = settings.analytics_columnar_dir or settings.data_dir / "analytics"
    service = Analytics(engine, clock, config, Columnar(folder), live_id)
    processor = AnalyticsProcessor(
        settings.analytics_campaign_codes, frozenset(settings.analytics_ignored_events)
    )
    return AnalyticsParts(
        service,
        processor,
        RefreshJob(service.refresh, settings.analytics_refresh_seconds),
        AnalyticsData(service),
    )
