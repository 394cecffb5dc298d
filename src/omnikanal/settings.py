"""One typed settings object, read once from ``OMNIKANAL_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
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

    # Descriptions are the docstrings under the fields: the reference in docs/ is generated from them.
    model_config = SettingsConfigDict(
        env_prefix="OMNIKANAL_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    data_dir: Path = Path("data")
    """Folder for the SQLite file, the generated secret key, the VAPID key and the demo's logins."""
    database_url: str = ""
    """SQLAlchemy URL of the database, e.g. postgresql://user:password@db-host:5432/omnikanal
    (psycopg 3); empty: the SQLite file omnikanal.db in the data folder."""
    auto_migrate: bool = True
    """Bring the schema to the newest version when a process starts; off: run `omnikanal migrate`."""
    host: str = "127.0.0.1"
    """Address `omnikanal serve` listens on (`--host` wins)."""
    port: int = 8000
    """Port `omnikanal serve` listens on (`--port` wins)."""
    public_url: str = "http://127.0.0.1:8000"
    """The hub's address as customers and staff reach it: links in messages and on customer pages
    are built on it, and console cookies are Secure when it is https."""
    secret_key: str | None = None
    """Signs the links sent to customers. Unset: generated once into data_dir/secret.key, which is
    right for one machine; several nodes must share one value."""

    default_phone_region: str = "DE"
    """Region of phone numbers given without a country code (normalised to E.164)."""
    junk_identifier_values: tuple[str, ...] = DEFAULT_JUNK_VALUES
    """Identifier values never stitched on (compared in lower case), such as null, 0000 or
    test@test.com."""
    identifier_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_IDENTIFIER_LIMITS))
    """Most identifiers of a type one profile may hold; an identifier or a merge beyond it is
    recorded as a conflict instead. Two different user ids never merge, whatever this says."""
    default_identifier_limit: int = 10
    """The limit of identifier types not named in identifier_limits."""
    identifier_traits: dict[str, str] = Field(default_factory=lambda: {"loyaltyCard": "loyalty_card"})
    """Trait keys whose values are identifiers too, mapped to the identifier type they become,
    e.g. {"loyaltyCard": "loyalty_card"}."""
    trait_source_priority: dict[str, list[str]] = Field(default_factory=dict)
    """Per trait, the source names in order of trust, e.g. {"birthday": ["erp"]}; a listed source
    beats any later value from a source ranked lower or not listed. Traits not named here: latest
    event time wins."""

    max_event_bytes: int = 32 * 1024
    """Largest event of the tracking API (Segment's own published limit)."""
    max_request_bytes: int = 500 * 1024
    """Largest tracking request, also after gzip decompression (Segment's own published limit)."""
    max_batch_events: int = 2500
    """Most events in one /v1/batch request (Segment's own published limit)."""
    ingest_group_events: int = 5000
    """How many events one write transaction may group from several waiting requests."""
    ingest_timeout_seconds: float = 30.0
    """How long a tracking request waits for its commit before answering 503 (the client retries;
    the retry is deduplicated)."""
    ingest_writers: int = 0
    """Writer threads per process; 0 = one on SQLite (a single writer anyway), two on PostgreSQL."""

    sqlite_synchronous: str = "FULL"
    """SQLite's synchronous mode (OFF, NORMAL, FULL, EXTRA). FULL: an answered event survives a power
    loss; NORMAL survives a crash of the process, not of the machine, and saves an fsync per commit."""
    sqlite_cache_mb: int = Field(8, ge=1, le=1024)
    """SQLite's page cache per connection, in MB. Each pooled connection keeps its own, so the process
    holds up to this times the connections it opened (measured: 64 MB let a serving process grow by
    150 MB in a burst of ingest; reads come through the memory map and the OS's file cache anyway)."""
    sqlite_checkpoint_seconds: float = 1.0
    """Seconds between background WAL checkpoints (db/checkpoint.py); 0 leaves them to SQLite's
    commits."""
    page_size_default: int = 50
    """Not read yet: the timeline's page length is 50 by default."""
    page_size_max: int = 500
    """Not read yet: the timeline's page length is at most 500."""
    worker_poll_seconds: float = 1.0
    """Seconds between rounds of the event-log processors when nothing woke them; events committed
    by another process are seen at the latest then."""
    worker_watch_seconds: float = Field(default=0.005, gt=0, le=5)
    """How often a worker process looks whether another process committed to the database (SQLite:
    PRAGMA data_version, a read of shared memory; PostgreSQL: LISTEN wakes it at once and this is
    the longest wait). It bounds the latency of real-time segments and journeys, not their cost."""
    worker_nice: int = Field(default=0, ge=0, le=19)
    """The niceness `omnikanal serve` gives the worker process it starts beside the API (0: the same
    priority as the API; higher: the worker takes the CPU the requests leave)."""

    # Consent and data-protection rights.
    consent_purposes: tuple[str, ...] = DEFAULT_PURPOSES
    """The consent purposes; a consent for any other purpose is refused with the field named."""
    consent_confirm_days: float = 7.0
    """How long a double opt-in link stays valid."""
    preference_link_days: float = 30.0
    """How long a preference-centre link stays valid."""
    retention_days: dict[str, int] = Field(default_factory=lambda: {"type:page": 396, "type:screen": 396})
    """Retention: maximum age in days per event type, event name or channel, keys "type:page",
    "event:Product Viewed", "channel:web"; the shortest matching rule applies."""
    retention_anonymous_profile_days: int = 396
    """Anonymous profiles (no user id, email or phone) inactive this many days are removed; 0 keeps
    them."""
    events_partition_months_ahead: int = Field(default=3, ge=1, le=24)
    """PostgreSQL: how many months of event-log partitions the worker keeps ready beyond the current
    one (an event of a month without its partition waits in the default partition until it exists)."""
    events_partition_check_seconds: float = Field(default=21600.0, ge=0)
    """PostgreSQL: seconds between the worker's checks for missing event-log partitions; 0: none in
    this process."""
    retention_batch_size: int = 1000
    """Events or profiles removed per transaction by the retention job."""
    retention_interval_seconds: float = 3600.0
    """Seconds between passes of the retention job in the worker; 0: no pass in this process."""
    reservation_hold_hours: float = Field(default=48.0, gt=0)
    """How long a reservation holds an item unless the request says otherwise."""
    reservation_reminder_hours: float = Field(default=4.0, ge=0)
    """How long before a reservation's end the customer is reminded."""
    commerce_job_seconds: float = Field(default=30.0, gt=0)
    """Seconds between passes of the reservation expiry and reminder job."""
    commerce_source_name: str = "omnikanal-commerce"
    """The hub's own source of commerce touchpoints (created on first use)."""
    scan_nearby_stores: int = Field(default=5, ge=0)
    """Nearest stores whose stock a scan in store shows."""
    scan_suggestions: int = Field(default=5, ge=0)
    """Product suggestions a scan in store shows."""
    catalogue_import_chunk_rows: int = Field(default=500, ge=1)
    """Catalogue rows imported per transaction."""
    catalogue_import_max_bytes: int = 50 * 1024 * 1024
    """Largest catalogue file the API takes in one request (the CLI has no limit)."""

    segment_max_depth: int = 8
    """Deepest nesting of all/any/not in a segment condition."""
    segment_max_leaves: int = 50
    """Most leaves (trait, event, consent, ... tests) in a segment condition."""
    segment_max_window_days: int = 730
    """Longest time window of a segment condition or a computed trait."""
    segment_recheck_seconds: float = 60.0
    """How often profiles whose answers change with time (an event leaving its window) are
    re-checked."""
    segment_recheck_batch: int = 500
    """Profiles re-checked per transaction."""
    segment_batch_recheck_seconds: float = 3600.0
    """How often segments with time windows are recomputed in batch (0: never)."""
    # --- messaging ---
    smtp_url: str = ""
    """SMTP server for email, e.g. smtp://127.0.0.1:1025 or smtps://user:password@mail.example:465;
    empty: email cannot be sent (messages wait and are retried until it is set)."""
    smtp_from: str = "Omnikanal <noreply@omnikanal.invalid>"
    """Sender of email (From)."""
    smtp_connections: int = 4
    """SMTP connections kept open per process."""
    smtp_timeout_seconds: float = 15.0
    """Timeout of one SMTP exchange."""
    messaging_list_id: str = "Omnikanal <marketing.omnikanal.invalid>"
    """List-Id of marketing email (RFC 2919)."""
    twilio_base_url: str = "https://api.twilio.com"
    """Twilio Messages API (SMS, WhatsApp); the base URL is configurable for tests and regional
    hosts."""
    twilio_account_sid: str = ""
    """Twilio account SID; empty: SMS and WhatsApp cannot be sent."""
    twilio_auth_token: str = ""
    """Twilio auth token; it also checks the signatures of Twilio's callbacks."""
    twilio_from: str = ""
    """Sender number of SMS (E.164)."""
    twilio_whatsapp_from: str = ""
    """Sender number of WhatsApp messages (E.164)."""
    twilio_timeout_seconds: float = 15.0
    """Timeout of one request to Twilio."""
    webhook_url: str = ""
    """Generic outbound webhook (Standard Webhooks): where webhook messages are posted."""
    webhook_secret: str = ""
    """Signing secret of the outbound webhook, whsec_<base64>."""
    webhook_allow_private: bool = False
    """Allow webhooks to private, loopback or link-local addresses. Off, the address is checked
    where the connection is made and the request goes to the checked address, so a DNS answer
    that changes after the check cannot lead it inside."""
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    """Private networks webhooks may reach although private addresses are refused (CIDRs, e.g. a
    partner's VPN range "10.8.0.0/16"); checked where the connection is made."""
    webhook_timeout_seconds: float = 10.0
    """Timeout of one webhook request."""
    messaging_default_timezone: str = "Europe/Berlin"
    """Time zone of customers without a timezone trait (quiet hours, send times)."""
    messaging_default_locale: str = "de"
    """Locale of customers whose traits name none (which template and text they get)."""
    messaging_quiet_hours: dict[str, str] = Field(
        default_factory=lambda: {
            "email": "20:00-08:00",
            "sms": "20:00-08:00",
            "whatsapp": "20:00-08:00",
            "task": "20:00-08:00",
        }
    )
    """Quiet hours per channel, local time of the customer, "HH:MM-HH:MM"; a channel not listed has
    none. A message in quiet hours is deferred, not dropped."""
    messaging_quiet_hours_transactional: bool = False
    """Transactional messages (an order status) go at any hour unless this is set."""
    messaging_cap_count: int = 3
    """Marketing messages per customer across all channels within messaging_cap_days."""
    messaging_cap_days: float = 7.0
    """The window of the marketing caps, in days."""
    messaging_channel_caps: dict[str, int] = Field(default_factory=lambda: {"sms": 2, "whatsapp": 2})
    """Marketing messages per customer and channel within messaging_cap_days."""
    messaging_auto_fallback: tuple[str, ...] = ("email", "push", "sms", "whatsapp")
    """channel "auto": the order tried when neither a preference nor engagement decides.
    Push after email (free, but easily missed), before SMS and WhatsApp (which cost per message)."""
    messaging_poll_seconds: float = 1.0
    """Seconds between dispatcher rounds; 0: this process runs no dispatcher (API-only nodes)."""
    messaging_batch_size: int = 100
    """Messages a dispatcher claims and gates per batch."""
    messaging_max_attempts: int = 8
    """Attempts to send a message before it fails."""
    messaging_retry_base_seconds: float = 30.0
    """The first retry's delay; each further retry waits longer (exponential backoff)."""
    messaging_retry_max_seconds: float = 6 * 3600.0
    """The longest delay between two attempts."""
    messaging_rate_per_second: dict[str, float] = Field(default_factory=dict)
    """Sends per second per channel (a provider's rate limit); a channel not listed is not limited."""
    messaging_dispatch_inline: bool = True
    """POST /api/messages dispatches the new message at once (after its commit) and answers with the
    gate's decision; off: the background dispatcher takes it on its next round."""
    messaging_link_days: int = 90
    """How long the links in a message (unsubscribe, tracked links) stay valid."""
    # --- journeys ---
    journey_max_steps: int = Field(default=50, ge=1, le=500)
    """Most steps in one journey."""
    journey_max_wait_days: int = Field(default=730, ge=1)
    """The longest wait, timeout, cooldown or goal window."""
    journey_max_document_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest journey document (YAML or JSON) the API takes."""
    # Deepest nesting of lists and objects in a journey document (YAML or JSON); YAML aliases are
    # refused outright, so a small document cannot expand into a huge one.
    journey_max_document_depth: int = Field(
        default=32, ge=8, le=200, description="deepest nesting of a journey document"
    )
    journey_worker_poll_seconds: float = Field(default=0.5, ge=0)
    """Seconds between timer worker rounds when nothing is due; 0: this process runs no timer worker
    (API-only nodes; run `omnikanal journeys work` beside them)."""
    journey_worker_batch: int = Field(default=100, ge=1)
    """Due timers claimed per transaction."""
    journey_date_scan_seconds: float = Field(default=3600.0, ge=0)
    """Seconds between scans for date-trait triggers (birthdays); 0: no scan in this process."""
    journey_date_scan_page: int = Field(default=1000, ge=1)
    """Profiles read per page of the date-trait scan."""
    journey_test_pause_file: str = ""
    """Test hook (never set in production): a timer worker writes this file after taking its steps
    and sleeps journey_test_pause_seconds before committing, so a test can kill it inside the step
    transaction."""
    journey_test_pause_seconds: float = 0.0
    """Test hook (never set in production): how long the paused timer worker sleeps."""

    # --- console (staff users, sessions, pages) ---
    console_session_hours: float = Field(default=12.0, gt=0)
    """A console session ends this many hours after login, whatever the activity."""
    console_login_max_failures: int = Field(default=5, ge=1)
    """Failed logins allowed per user name within the window; more are refused with 429 until the
    oldest failure leaves the window."""
    console_login_max_failures_per_ip: int = Field(default=20, ge=1)
    """Failed logins allowed per client address within the window; more are refused with 429."""
    console_login_window_seconds: float = Field(default=900.0, gt=0)
    """The window of the login limits."""
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
    """Shortest password of a staff user."""
    console_page_rows: int = Field(default=50, ge=1, le=500)
    """Rows shown in console lists (search hits, timeline, tasks) before "more"."""
    console_overview_days: int = Field(default=30, ge=1, le=366)
    """Days the overview's charts cover."""
    console_overview_cache_seconds: float = Field(default=60.0, ge=0)
    """How long the overview's aggregates are reused (they scan the window's events); 0: every
    request."""
    # --- the browser as a channel (CORS, public write keys) ---
    browser_rate_per_second: float = Field(default=20.0, gt=0)
    """Requests per second a public source takes from one client address (a token bucket per source
    and address, per process). Generous, because many visitors can share one address (a company's
    network, a mobile carrier's NAT); over it: 429 with Retry-After."""
    browser_rate_burst: int = Field(default=200, ge=1)
    """The burst a public source takes from one client address on top of the rate."""
    browser_rate_max_clients: int = Field(default=100_000, ge=100)
    """Client addresses remembered per process; past this, buckets already full again are
    forgotten."""
    browser_preflight_max_age_seconds: int = Field(default=7200, ge=0)
    """How long a browser may reuse a preflight answer (Chromium caps it at 7200 seconds)."""
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
    """Request headers a page may send to the tracking endpoints: those of Segment's analytics-next
    and RudderStack's JavaScript SDK, retries included. A preflight asking for another is refused."""
    browser_max_beacon_bytes: int = Field(default=64 * 1024, ge=1024)
    """The largest body a beacon (navigator.sendBeacon, fetch keepalive) may carry: browsers refuse
    to send more than 64 KiB that way, so a larger beacon did not come from a tracking library."""
    # --- messaging leftovers (push, speed, inbound STOP) ---
    messaging_pipeline_batches: int = 4
    """A dispatcher round works through up to this many batches, claiming and gating the next while
    the one before it is out at the providers (database work and network waits overlap)."""
    push_vapid_private_key: str = ""
    """Web Push (RFC 8030/8291/8292). The VAPID key: PEM or the raw P-256 key in base64url; empty:
    generated once into the data folder as vapid_private.pem (keep it: browsers subscribed with its
    public key)."""
    push_vapid_subject: str = ""
    """The push service operator's contact in the VAPID JWT: mailto: or https:; empty: the public
    URL when it is https, else the SMTP sender's address."""
    push_ttl_seconds: int = 86400
    """How long a push service keeps a message for an offline device."""
    push_timeout_seconds: float = 15.0
    """Timeout of one request to a push service."""
    push_max_payload_bytes: int = 3800
    """The JSON payload's limit before encryption (push services take at least 4096 bytes
    encrypted)."""
    push_allow_private: bool = False
    """Allow subscriptions with http:// or private/loopback endpoints (tests, a local push
    service)."""
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
    """Inbound SMS/WhatsApp (Twilio's incoming-message webhook at /callbacks/twilio/inbound): a body
    that is one of these words (trimmed, any case) withdraws the channel's marketing consent.
    Twilio's default opt-out keywords, and German ones."""
    sms_start_keywords: tuple[str, ...] = ("START", "UNSTOP", "ANMELDEN")
    """An inbound SMS/WhatsApp body that is one of these words (trimmed, any case) grants the
    channel's marketing consent again."""
    report_secret: str = ""
    """Bounce and complaint reports at /callbacks/email-reports are signed per Standard Webhooks with
    this whsec_ secret; empty: the endpoint refuses every report."""
    report_tolerance_seconds: int = 300
    """Report signatures older than this are refused."""
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
    analytics_campaign_codes: dict[str, str] = {}
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
    analytics_hourly_rates: dict[str, float] = {"default": 32.0}
    """Analytics, the hub's own costs: the hourly staff rate per queue, e.g. {"default": 32,
    "returns": 28}; a queue without its own rate takes "default"'s."""
    analytics_fixed_monthly_costs: dict[str, float] = {}
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
    def _check_analytics_backend(self) -> Settings:
        if self.analytics_backend == "spark" and self.analytics_engine != "duckdb":
            raise ValueError(
                'analytics_backend "spark" reads the columnar copy: analytics_engine must be duckdb'
            )
        return self

    @model_validator(mode="after")
    def _check_matching_thresholds(self) -> Settings:
        if self.matching_review_threshold > self.matching_merge_threshold:
            raise ValueError("matching_review_threshold must not exceed matching_merge_threshold")
        return self

    service_source_name: str = "omnikanal-service"
    """The hub's own source under which service cases appear on customers' timelines."""
    service_statuses: list[str] = Field(default_factory=list)
    """Custom case statuses beyond new, open, waiting_customer, waiting_us, resolved and closed
    (lower case letters, digits and underscores)."""
    service_smtp_port: int | None = None
    """Port of the SMTP listener for inbound service mail; unset: no listener. It accepts mail for
    any address unless ``service_smtp_domains`` limits them."""
    service_smtp_host: str = "127.0.0.1"
    """Address the inbound SMTP listener binds to."""
    service_smtp_domains: list[str] = Field(default_factory=list)
    """Recipient domains the SMTP listener accepts mail for; empty: any."""
    service_smtp_max_bytes: int = 10_000_000
    """Largest inbound mail (bytes) the listener takes; larger ones are refused at DATA (552)."""
    service_imap_host: str = ""
    """IMAP server of a support mailbox the worker fetches mail from; empty: no fetching."""
    service_imap_port: int | None = Field(default=None, ge=1, le=65535)
    """Port of the IMAP server; unset: 993 with ``service_imap_tls``, else 143."""
    service_imap_tls: bool = True
    """Connect with TLS (IMAPS); off only for a server on the same host or network."""
    service_imap_user: str = ""
    """Login name of the support mailbox."""
    service_imap_password: str = Field(default="", repr=False)
    """Password of the support mailbox."""
    service_imap_folder: str = "INBOX"
    """The folder new support mail arrives in."""
    service_imap_move_to: str = ""
    """Folder a fetched message is moved to; empty: it stays and is flagged \\Seen."""
    service_imap_poll_seconds: float = Field(default=60.0, ge=0)
    """How often the worker looks for new mail in the mailbox; 0: never."""
    service_imap_batch: int = Field(default=50, ge=1, le=1000)
    """Messages fetched in one poll at most (the next poll follows at once when there were more)."""
    service_imap_timeout_seconds: float = Field(default=30.0, gt=0)
    """Timeout of the connection to the IMAP server."""
    service_mail_queue: str = "email"
    """The queue a case opened by an inbound mail goes to."""
    service_text_queue: str = "hotline"
    """The queue a case opened by an inbound SMS or WhatsApp text goes to."""
    service_sla_hours: dict[str, list[float]] = Field(
        default_factory=lambda: {
            "low": [16.0, 80.0],
            "normal": [8.0, 40.0],
            "high": [2.0, 16.0],
            "urgent": [1.0, 8.0],
        }
    )
    """SLA targets in business hours, [first response, resolution], per priority or per
    ``queue:priority`` (which wins)."""
    service_business_hours: str = "08:00-18:00"
    """The service's business hours: "08:00-18:00" (Monday to Friday) or day groups such as
    "mon-fri 08:00-18:00; sat 10:00-14:00"; never on public holidays."""
    service_queue_hours: dict[str, str] = Field(default_factory=dict)
    """Business hours per queue, written like ``service_business_hours`` ({"hotline": "mon-sat
    08:00-20:00"}); a store's queue without an entry counts the store's opening hours."""
    service_queue_holiday_states: dict[str, str] = Field(default_factory=dict)
    """Federal state per queue whose public holidays stop that queue's clock (default:
    ``service_holiday_state``)."""
    service_timezone: str = "Europe/Berlin"
    """Time zone of the business hours."""
    service_holiday_state: str = "BE"
    """German federal state whose public holidays stop the SLA clock (ISO 3166-2 code without DE-)."""
    service_sla_at_risk: float = 0.25
    """A case is at risk when less than this share of an SLA target is left."""
    service_csat_days: int = 14
    """How long a satisfaction survey link stays valid (days)."""
    service_sla_check_seconds: float = 60.0
    """How often the worker's SLA watch looks for cases turning at risk (a staff task) or breached
    (recorded on the case); 0: never."""
    service_sla_batch: int = 200
    """Cases the SLA watch handles in one transaction."""
    service_attachment_max_bytes: int = Field(default=5_000_000, ge=1)
    """Largest attachment of an inbound mail that is kept (bytes); larger ones are refused and named
    on the entry (the whole mail is limited by ``service_smtp_max_bytes``)."""
    service_attachment_max_count: int = Field(default=10, ge=0, le=20)
    """Attachments kept per mail at most."""
    service_attachment_types: list[str] = Field(
        default_factory=lambda: [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "image/heic",
            "text/plain",
        ]
    )
    """Content types of attachments that are kept; others are refused (no HTML, no executables)."""
    service_webhook_secrets: dict[str, str] = Field(default_factory=dict)
    """Secrets of the signed chat/social and phone-system webhooks, per source name
    (``{"chat": "whsec_<base64>"}``); a source without one is refused (404)."""
    service_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    """How far a webhook's timestamp may be from now (seconds): older requests are replays."""
    service_webhook_queue: str = "hotline"
    """The queue cases opened by the chat/social and call webhooks go to."""
    service_retention_days: int = Field(default=0, ge=0)
    """Closed cases are removed this many days after closing (by the worker); 0: kept."""
    service_retention_mode: Literal["delete", "anonymise"] = "anonymise"
    """What retention does to a closed case: delete it with its thread, or anonymise it (texts,
    subject, comment and the tie to the person removed; times, SLA and score kept for the figures)."""
    service_retention_seconds: float = 3600.0
    """How often the worker's retention job looks for closed cases past their time."""

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
