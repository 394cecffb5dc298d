"""One typed settings object, read once from ``OMNIKANAL_*`` environment variables.

The fields are declared by capability in a chain of classes (``core``, ``channels``, ``analytics``,
then the service desk here); ``Settings`` is the last link and the one to use. The field order, and
so the configuration reference generated from it, is the order of the chain.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator

from omnikanal.settings.analytics import AnalyticsSettings
from omnikanal.settings.core import DEFAULT_IDENTIFIER_LIMITS, DEFAULT_JUNK_VALUES, DEFAULT_PURPOSES

__all__ = [
    "DEFAULT_IDENTIFIER_LIMITS",
    "DEFAULT_JUNK_VALUES",
    "DEFAULT_PURPOSES",
    "Settings",
    "load_settings",
]


class Settings(AnalyticsSettings):
    """Everything that can be configured. Frozen: a value once read does not change."""

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
