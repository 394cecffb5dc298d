"""The settings of the channels: messaging, journeys, the console and staff HTTP, the browser as a
channel, push, inbound SMS and reports."""

from __future__ import annotations

from pydantic import Field

from omnikanal.settings.core import CoreSettings


class ChannelSettings(CoreSettings):
    """Settings of messaging, journeys, the console and the browser."""

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
