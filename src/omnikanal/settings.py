"""One typed settings object, read once from ``OMNIKANAL_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The consent purposes a hub knows unless configured otherwise (consent/model.py names their channels).
DEFAULT_PURPOSES: tuple[str, ...] = (
    "email_marketing",
    "sms_marketing",
    "phone_marketing",
    "push_marketing",
    "messenger_marketing",
    "personalisation",
    "analytics",
    # the cookie banner's marketing category (advertising, retargeting); no messaging channel's consent
    "marketing",
)

DEFAULT_JUNK_VALUES: tuple[str, ...] = (
    "",
    "null",
    "none",
    "nil",
    "undefined",
    "nan",
    "0",
    "-1",
    "0000",
    "00000000",
    "00000000-0000-0000-0000-000000000000",
    "anonymous",
    "unknown",
    "guest",
    "test",
    "test@test.com",
    "test@example.com",
    "noemail@noemail.com",
    "no@email.com",
    "email@example.com",
)

DEFAULT_IDENTIFIER_LIMITS: dict[str, int] = {
    "user_id": 1,
    "email": 5,
    "phone": 5,
    "anonymous_id": 100,
}


class Settings(BaseSettings):
    """Everything that can be configured. Frozen: a value once read does not change."""

    model_config = SettingsConfigDict(env_prefix="OMNIKANAL_", frozen=True, extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    auto_migrate: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    # Signs the links sent to customers. Unset: generated once into data_dir/secret.key, which is
    # right for one machine; several nodes must share one value.
    secret_key: str | None = None

    default_phone_region: str = "DE"
    junk_identifier_values: tuple[str, ...] = DEFAULT_JUNK_VALUES
    identifier_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_IDENTIFIER_LIMITS))
    default_identifier_limit: int = 10
    # Trait keys whose values are identifiers too, mapped to the identifier type they become,
    # e.g. {"loyaltyCard": "loyalty_card"}.
    identifier_traits: dict[str, str] = Field(default_factory=lambda: {"loyaltyCard": "loyalty_card"})
    # Per trait, the source names in order of trust; a listed source beats any later value from a
    # source ranked lower or not listed. Traits not named here: latest event time wins.
    trait_source_priority: dict[str, list[str]] = Field(default_factory=dict)

    # Ingest limits (Segment's own published limits).
    max_event_bytes: int = 32 * 1024
    max_request_bytes: int = 500 * 1024
    max_batch_events: int = 2500
    # How many events one write transaction may group from several waiting requests.
    ingest_group_events: int = 5000
    # How long a tracking request waits for its commit before answering 503 (the client retries).
    ingest_timeout_seconds: float = 30.0
    # Writer threads per process; 0 = one on SQLite (a single writer anyway), two on PostgreSQL.
    ingest_writers: int = 0

    sqlite_synchronous: str = "FULL"
    # Seconds between background WAL checkpoints (db/checkpoint.py); 0 leaves them to SQLite's commits.
    sqlite_checkpoint_seconds: float = 1.0
    page_size_default: int = 50
    page_size_max: int = 500
    worker_poll_seconds: float = 1.0
    # How often a worker process looks whether another process committed to the database (SQLite:
    # PRAGMA data_version, a read of shared memory; PostgreSQL: LISTEN wakes it at once and this is
    # the longest wait). It bounds the latency of real-time segments and journeys, not their cost.
    worker_watch_seconds: float = Field(default=0.005, gt=0, le=5)
    # The niceness `omnikanal serve` gives the worker process it starts beside the API (0: the same
    # priority as the API; higher: the worker takes the CPU the requests leave).
    worker_nice: int = Field(default=0, ge=0, le=19)

    # Consent and data-protection rights.
    consent_purposes: tuple[str, ...] = DEFAULT_PURPOSES
    consent_confirm_days: float = 7.0  # how long a double opt-in link stays valid
    preference_link_days: float = 30.0  # how long a preference-centre link stays valid
    # Retention: maximum age in days per event type or channel, keys "type:page",
    # "event:Product Viewed", "channel:web"; the shortest matching rule applies.
    retention_days: dict[str, int] = Field(default_factory=lambda: {"type:page": 396, "type:screen": 396})
    # Anonymous profiles (no user id, email or phone) inactive this many days are removed; 0 keeps them.
    retention_anonymous_profile_days: int = 396
    retention_batch_size: int = 1000
    retention_interval_seconds: float = 3600.0
    # Commerce. How long a reservation holds an item unless the request says otherwise, and how long
    # before its end the customer is reminded.
    reservation_hold_hours: float = Field(default=48.0, gt=0)
    reservation_reminder_hours: float = Field(default=4.0, ge=0)
    # Seconds between passes of the reservation expiry and reminder job.
    commerce_job_seconds: float = Field(default=30.0, gt=0)
    # The hub's own source of commerce touchpoints (created on first use).
    commerce_source_name: str = "omnikanal-commerce"
    scan_nearby_stores: int = Field(default=5, ge=0)
    scan_suggestions: int = Field(default=5, ge=0)
    catalogue_import_chunk_rows: int = Field(default=500, ge=1)
    # Largest catalogue file the API takes in one request (the CLI has no limit).
    catalogue_import_max_bytes: int = 50 * 1024 * 1024

    # Segments and computed traits.
    segment_max_depth: int = 8  # nesting of all/any/not
    segment_max_leaves: int = 50
    segment_max_window_days: int = 730
    # how often profiles whose answers change with time are re-checked, and how many per transaction
    segment_recheck_seconds: float = 60.0
    segment_recheck_batch: int = 500
    # how often segments with time windows are recomputed in batch (0: never)
    segment_batch_recheck_seconds: float = 3600.0
    # --- messaging ---
    # SMTP server for email, e.g. smtp://127.0.0.1:1025 or smtps://user:password@mail.example:465;
    # empty: email cannot be sent (messages wait and are retried until it is set).
    smtp_url: str = ""
    smtp_from: str = "Omnikanal <noreply@omnikanal.invalid>"
    smtp_connections: int = 4
    smtp_timeout_seconds: float = 15.0
    # List-Id of marketing email (RFC 2919).
    messaging_list_id: str = "Omnikanal <marketing.omnikanal.invalid>"
    # Twilio Messages API (SMS, WhatsApp); the base URL is configurable for tests and regional hosts.
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_whatsapp_from: str = ""
    twilio_timeout_seconds: float = 15.0
    # Generic outbound webhook (Standard Webhooks); the secret is whsec_<base64>.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_allow_private: bool = False
    # Private networks webhooks may reach although private addresses are refused (CIDRs, e.g. a
    # partner's VPN range "10.8.0.0/16"); checked where the connection is made.
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    webhook_timeout_seconds: float = 10.0
    messaging_default_timezone: str = "Europe/Berlin"
    messaging_default_locale: str = "de"
    # Quiet hours per channel, local time of the customer, "HH:MM-HH:MM"; a channel not listed has none.
    messaging_quiet_hours: dict[str, str] = Field(
        default_factory=lambda: {
            "email": "20:00-08:00",
            "sms": "20:00-08:00",
            "whatsapp": "20:00-08:00",
            "task": "20:00-08:00",
        }
    )
    # Transactional messages (an order status) go at any hour unless this is set.
    messaging_quiet_hours_transactional: bool = False
    # Marketing messages per customer across all channels within the window, and per channel.
    messaging_cap_count: int = 3
    messaging_cap_days: float = 7.0
    messaging_channel_caps: dict[str, int] = Field(default_factory=lambda: {"sms": 2, "whatsapp": 2})
    # channel "auto": the order tried when neither a preference nor engagement decides.
    # Push after email (free, but easily missed), before SMS and WhatsApp (which cost per message).
    messaging_auto_fallback: tuple[str, ...] = ("email", "push", "sms", "whatsapp")
    # Seconds between dispatcher rounds; 0: this process runs no dispatcher (API-only nodes).
    messaging_poll_seconds: float = 1.0
    messaging_batch_size: int = 100
    messaging_max_attempts: int = 8
    messaging_retry_base_seconds: float = 30.0
    messaging_retry_max_seconds: float = 6 * 3600.0
    # Sends per second per channel (a provider's rate limit); a channel not listed is not limited.
    messaging_rate_per_second: dict[str, float] = Field(default_factory=dict)
    # POST /api/messages dispatches the new message at once (after its commit) and answers with the
    # gate's decision; off: the background dispatcher takes it on its next round.
    messaging_dispatch_inline: bool = True
    # How long the links in a message (unsubscribe, tracked links) stay valid.
    messaging_link_days: int = 90
    # --- journeys ---
    journey_max_steps: int = Field(default=50, ge=1, le=500)
    # the longest wait, timeout, cooldown or goal window
    journey_max_wait_days: int = Field(default=730, ge=1)
    journey_max_document_bytes: int = Field(default=256 * 1024, ge=1024)
    # Deepest nesting of lists and objects in a journey document (YAML or JSON); YAML aliases are
    # refused outright, so a small document cannot expand into a huge one.
    journey_max_document_depth: int = Field(
        default=32, ge=8, le=200, description="deepest nesting of a journey document"
    )
    # Seconds between timer worker rounds when nothing is due; 0: this process runs no timer worker
    # (API-only nodes; run `omnikanal journeys work` beside them).
    journey_worker_poll_seconds: float = Field(default=0.5, ge=0)
    journey_worker_batch: int = Field(default=100, ge=1)  # due timers claimed per transaction
    # Seconds between scans for date-trait triggers (birthdays); 0: no scan in this process.
    journey_date_scan_seconds: float = Field(default=3600.0, ge=0)
    journey_date_scan_page: int = Field(default=1000, ge=1)
    # Test hook (never set in production): a timer worker writes this file after taking its steps
    # and sleeps this long before committing, so a test can kill it inside the step transaction.
    journey_test_pause_file: str = ""
    journey_test_pause_seconds: float = 0.0

    # --- console (staff users, sessions, pages) ---
    # A console session ends this many hours after login, whatever the activity.
    console_session_hours: float = Field(default=12.0, gt=0)
    # Failed logins allowed per user name and per client address within the window; more are refused
    # with 429 until the oldest failure leaves the window.
    console_login_max_failures: int = Field(default=5, ge=1)
    console_login_max_failures_per_ip: int = Field(default=20, ge=1)
    console_login_window_seconds: float = Field(default=900.0, gt=0)
    # Request bodies, per kind of route; a larger body is refused with 413 while it is read, before
    # any handler sees it. The tracking API (/v1) keeps its own limits (Segment's).
    api_max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="largest JSON body of an /api request"
    )
    console_max_form_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest form posted to the console (login included)"
    )
    callback_max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest body of a provider's callback (/callbacks)"
    )
    public_form_max_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="largest form of the customers' pages (preferences, confirmation, unsubscribe) and "
        "of any other route",
    )
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the client: the login limit
    # per address and the consent proof use it only from these; from anyone else it is ignored.
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="JSON list of proxy addresses or networks trusted to set X-Forwarded-For",
    )
    console_password_min_length: int = Field(default=10, ge=8)
    # Rows shown in console lists (search hits, timeline, tasks) before "more".
    console_page_rows: int = Field(default=50, ge=1, le=500)
    # Days the overview's charts cover.
    console_overview_days: int = Field(default=30, ge=1, le=366)
    # How long the overview's aggregates are reused (they scan the window's events); 0: every request.
    console_overview_cache_seconds: float = Field(default=60.0, ge=0)
    # --- the browser as a channel (CORS, public write keys) ---
    # Requests per second a public source takes from one client address, and the burst allowed on
    # top (a token bucket per source and address, per process). Generous, because many visitors can
    # share one address (a company's network, a mobile carrier's NAT); over it: 429 with Retry-After.
    browser_rate_per_second: float = Field(default=20.0, gt=0)
    browser_rate_burst: int = Field(default=200, ge=1)
    # Client addresses remembered per process; past this, buckets already full again are forgotten.
    browser_rate_max_clients: int = Field(default=100_000, ge=100)
    # How long a browser may reuse a preflight answer (Chromium caps it at 7200 seconds).
    browser_preflight_max_age_seconds: int = Field(default=7200, ge=0)
    # Request headers a page may send to the tracking endpoints: those of Segment's analytics-next and
    # RudderStack's JavaScript SDK, retries included. A preflight asking for another is refused.
    browser_allowed_headers: tuple[str, ...] = (
        "authorization",
        "content-type",
        "content-encoding",
        "accept",
        "anonymousid",
        "sentat",
        "x-retry-count",
        "rsa-recovered",
        "rsa-retry-attempt",
        "rsa-retry-reason",
        "rsa-since-first-attempt",
        "rsa-since-last-attempt",
    )
    # The largest body a beacon (navigator.sendBeacon, fetch keepalive) may carry: browsers refuse to
    # send more than 64 KiB that way, so a larger beacon did not come from a tracking library.
    browser_max_beacon_bytes: int = Field(default=64 * 1024, ge=1024)
    # --- messaging leftovers (push, speed, inbound STOP) ---
    # A dispatcher round works through up to this many batches, claiming and gating the next while
    # the one before it is out at the providers (database work and network waits overlap).
    messaging_pipeline_batches: int = 4
    # Web Push (RFC 8030/8291/8292). The VAPID key: PEM or the raw P-256 key in base64url; empty:
    # generated once into the data folder (keep it: browsers subscribed with its public key).
    push_vapid_private_key: str = ""
    # The push service operator's contact in the VAPID JWT: mailto: or https:; empty: the public
    # URL when it is https, else the SMTP sender's address.
    push_vapid_subject: str = ""
    # How long a push service keeps a message for an offline device.
    push_ttl_seconds: int = 86400
    push_timeout_seconds: float = 15.0
    # The JSON payload's limit before encryption (push services take at least 4096 bytes encrypted).
    push_max_payload_bytes: int = 3800
    # Subscriptions with http:// or private/loopback endpoints (tests, a local push service).
    push_allow_private: bool = False
    # Inbound SMS/WhatsApp (Twilio's incoming-message webhook at /callbacks/twilio/inbound): a body
    # that is one of these words (trimmed, any case) withdraws or grants the channel's marketing
    # consent. Twilio's default opt-out and opt-in keywords, and German ones.
    sms_stop_keywords: tuple[str, ...] = (
        "STOP",
        "STOPP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "ABMELDEN",
        "OPTOUT",
        "REVOKE",
    )
    sms_start_keywords: tuple[str, ...] = ("START", "UNSTOP", "ANMELDEN")
    # Bounce and complaint reports at /callbacks/email-reports, signed per Standard Webhooks with
    # this whsec_ secret; empty: the endpoint refuses every report. Older signatures are refused.
    report_secret: str = ""
    report_tolerance_seconds: int = 300

    @field_validator("sqlite_synchronous")
    @classmethod
    def _check_sync(cls, value: str) -> str:
        value = value.upper()
        if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("must be one of OFF, NORMAL, FULL, EXTRA")
        return value

    @field_validator("webhook_allowed_networks", "trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                ipaddress.ip_network(text.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not a network like 10.8.0.0/16") from None
        return value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            url = self.database_url
            # Plain postgresql:// means psycopg 3 here, not SQLAlchemy's psycopg2 default.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'omnikanal.db').as_posix()}"

    def identifier_limit(self, identifier_type: str) -> int:
        return self.identifier_limits.get(identifier_type, self.default_identifier_limit)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; explicit overrides win (used by tests and the CLI)."""
    return Settings(**overrides)
