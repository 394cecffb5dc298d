"""The settings every deployment has: the database and processes, sources and ingest, identity,
consent and privacy, commerce and segments (the first link of the chain that makes ``Settings``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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


class CoreSettings(BaseSettings):
    """The general settings and those of sources, ingest, identity, consent, commerce and segments."""

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
