"""The settings of the figures and models: analytics, probabilistic matching, recommendations and
the Spark backend."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from omnikanal.settings.channels import ChannelSettings


class AnalyticsSettings(ChannelSettings):
    """Settings of analytics, matching and recommendations."""

    analytics_conversion_event: str = "Order Completed"
    """Analytics: the event that counts as a conversion unless a report names another (wherever it
    happened: web, app, till, click & collect pick-up)."""
    analytics_lookback_days: int = Field(30, ge=1, le=365)
    """Analytics: how far before a conversion a touchpoint still belongs to its path, unless a report
    gives its own lookback."""
    analytics_max_lookback_days: int = Field(365, ge=1)
    """Analytics: the longest lookback a report may ask for."""
    analytics_max_period_days: int = Field(731, ge=1)
    """Analytics: the longest period (since to until) a report may cover."""
    analytics_half_life_days: float = Field(7.0, gt=0)
    """Analytics: the half-life of the time-decay model: a touch this long before the conversion
    weighs half as much as one at the conversion."""
    analytics_currency: str = "EUR"
    """Analytics: the currency of revenue and costs; cost rows in another currency are refused (no
    exchange rates are applied)."""
    analytics_campaign_codes: dict[str, str] = {}  # noqa: RUF012 (pydantic copies defaults)
    """Analytics: offline campaigns reached through a code (a coupon at the till, a vanity URL, a "how
    did you hear of us" answer in properties.campaign_code, coupon or heard_about), as code ->
    "source/medium/campaign", e.g. {"RADIO24": "radio-ffh/radio/spring"}; codes match in any case."""
    analytics_ignored_events: tuple[str, ...] = ("Segment Entered", "Segment Exited")
    """Analytics: track events that are no touchpoints (the hub's own bookkeeping)."""
    analytics_columnar_dir: Path | None = None
    """Analytics: where the columnar copy (Parquet files) of the touchpoints is written; unset:
    data_dir/analytics."""
    analytics_refresh_seconds: float = 300.0
    """Analytics: how often the worker role appends new touchpoints to the columnar copy (0: only
    `omnikanal analytics refresh`)."""
    analytics_engine: str = "duckdb"
    """Analytics: where reports are computed: "duckdb" (embedded, over the columnar copy; the OLTP
    database is not scanned) or "database" (SQL on the hub's own tables)."""
    analytics_backend: Literal["duckdb", "spark"] = "duckdb"
    """Analytics: what computes attribution over the columnar copy: "duckdb" (in-process) or
    "spark" (PySpark over the same Parquet files, on ``spark_master``, for a history that outgrows
    one machine; needs pyspark and Java 17). Needs analytics_engine "duckdb"."""
    analytics_max_cost_rows: int = Field(100_000, ge=1)
    """Analytics: the most rows one cost file may have."""
    analytics_sms_segment_price: float = Field(0.075, ge=0)
    """Analytics, the hub's own costs: the price of one SMS segment (160 GSM-7 or 70 UCS-2
    characters; a longer message is several), in the analytics currency."""
    analytics_whatsapp_conversation_price: float = Field(0.11, ge=0)
    """Analytics, the hub's own costs: the price of one WhatsApp conversation (24 hours from the
    first message to a person with none open)."""
    analytics_email_price_per_1000: float = Field(0.90, ge=0)
    """Analytics, the hub's own costs: the price of 1,000 emails sent."""
    analytics_clv_discount_rate: float = Field(0.10, ge=0, le=1)
    """Analytics, customer lifetime value: the annual rate future purchases are discounted at to
    today's value (0.10 is 10 % a year; 0 leaves them undiscounted)."""
    analytics_gross_margin: float = Field(0.35, gt=0, le=1)
    """Analytics, customer lifetime value: the gross margin of revenue (0.35: 35 % of net revenue is
    margin); lifetime value is given on margin as well as on revenue (the catalogue holds no cost
    prices)."""
    analytics_push_price: float = Field(0.0, ge=0)
    """Analytics, the hub's own costs: the price of one push message (web push itself is free)."""
    analytics_task_minutes: float = Field(5.0, ge=0)
    """Analytics, the hub's own costs: the staff minutes one task (a message to staff) takes."""
    analytics_case_minutes: float = Field(15.0, ge=0)
    """Analytics, the hub's own costs: the staff minutes one resolved service case takes."""
    analytics_hourly_rates: dict[str, float] = {"default": 32.0}  # noqa: RUF012 (pydantic copies defaults)
    """Analytics, the hub's own costs: the hourly staff rate per queue, e.g. {"default": 32,
    "returns": 28}; a queue without its own rate takes "default"'s."""
    analytics_fixed_monthly_costs: dict[str, float] = {}  # noqa: RUF012 (pydantic copies defaults)
    """Analytics, the hub's own costs: fixed costs a month per business channel (a store's share of
    rent and staff, the hotline's seats), e.g. {"pos": 4000, "hotline": 2500}; spread over the days
    of each month."""

    @field_validator("analytics_hourly_rates", "analytics_fixed_monthly_costs")
    @classmethod
    def _check_analytics_amounts(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if not 0 <= v < 1e9)
        if bad:
            raise ValueError(f"amounts must be zero or more: {', '.join(bad)}")
        return value

    @field_validator("analytics_engine")
    @classmethod
    def _check_analytics_engine(cls, value: str) -> str:
        if value not in ("duckdb", "database"):
            raise ValueError("must be duckdb or database")
        return value

    matching_merge_threshold: float = Field(default=0.99, gt=0, le=1)
    """Probabilistic matching: a pair of profiles with at least this match probability merges
    (a merge of kind ``probabilistic``, undoable like every merge)."""
    matching_review_threshold: float = Field(default=0.8, gt=0, le=1)
    """A pair with at least this match probability, and below the merge threshold, waits in the
    review queue; below it, nothing happens. Must not exceed the merge threshold."""
    matching_interval_seconds: float = 5.0
    """Seconds between the worker's matching of profiles whose traits changed; 0: no matching in the
    background (``omnikanal matching run`` still works)."""
    matching_batch: int = Field(default=500, ge=1, le=10000)
    """Changed profiles matched per round of the worker."""
    matching_training_pairs: int = Field(default=2_000_000, ge=10_000)
    """Random pairs sampled to estimate the u-probabilities when the model is trained."""
    recommend_train_seconds: float = Field(default=3600.0, ge=0)
    """Recommend: seconds between the worker's trainings of the recommendation model (only when new
    interactions came in); 0: only ``omnikanal recommend train``."""
    recommend_window_days: int | None = Field(default=None, ge=1, le=3650)
    """Recommend: train on the interactions of the last this many days; unset: the whole history."""
    recommend_factors: int = Field(default=32, ge=2, le=512)
    """Recommend: latent factors per customer and product in the ALS model."""
    recommend_iterations: int = Field(default=15, ge=1, le=100)
    """Recommend: ALS iterations per training."""
    recommend_channel_window_hours: float = Field(default=48.0, gt=0, le=24 * 30)
    """Next best channel: an open, click, reply, call or interaction with products up to this many
    hours after a message counts as acting on it."""
    recommend_channel_prior_strength: float = Field(default=10.0, ge=0, le=10_000)
    """Next best channel: weight of the channel's population rate in a customer's score, in
    messages (a customer with this many messages is halfway between the population and their own rate)."""
    recommend_best_hour_fallback: int = Field(default=10, ge=0, le=23)
    """Send-time optimisation: the local hour for customers with little history or no
    personalisation consent."""
    recommend_best_hour_prior: float = Field(default=3.0, ge=0, le=1000)
    """Send-time optimisation: pseudo-events at the fallback hour (more: more history needed to move away)."""
    matching_backend: Literal["duckdb", "spark"] = "duckdb"
    """The engine that trains the model and matches every profile: "duckdb" (in-process) or
    "spark" (Splink's Spark backend, for profiles that outgrow one machine; needs pyspark and Java
    17). The worker's matching of changed profiles always runs in-process."""
    spark_master: str = "local[2]"
    """Where Spark jobs run: a local session on two cores by default, or a cluster's master URL."""
    spark_driver_memory: str = Field(default="1g", pattern=r"^[1-9][0-9]*[mg]$")
    """Memory of the Spark driver (with a local master, of the whole session), e.g. 1g or 512m."""

    @model_validator(mode="after")
    def _check_analytics_backend(self) -> Self:
        if self.analytics_backend == "spark" and self.analytics_engine != "duckdb":
            raise ValueError(
                'analytics_backend "spark" reads the columnar copy: analytics_engine must be duckdb'
            )
        return self

    @model_validator(mode="after")
    def _check_matching_thresholds(self) -> Self:
        if self.matching_review_threshold > self.matching_merge_threshold:
            raise ValueError("matching_review_threshold must not exceed matching_merge_threshold")
        return self
