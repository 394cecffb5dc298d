"""Staff and system principals, their roles and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ROLES: tuple[str, ...] = ("admin", "marketing", "service", "store", "privacy")


class Permission(StrEnum):
    PROFILES_READ = "profiles:read"
    PROFILES_UNMERGE = "profiles:unmerge"
    QUARANTINE_READ = "quarantine:read"
    SOURCES_READ = "sources:read"
    SOURCES_WRITE = "sources:write"
    CONSENTS_READ = "consents:read"
    CONSENTS_WRITE = "consents:write"
    # Record an email grant as already confirmed (proof.confirmed_at): skips the hub's double opt-in.
    CONSENTS_CONFIRMED = "consents:confirmed"
    # Read the pending double opt-in links (each confirms a consent) and mark them sent: a mailer's job.
    CONSENTS_CONFIRMATIONS = "consents:confirmations"
    # File a data-subject request (export, restriction, rectification) for the person being served.
    PRIVACY_FILE = "privacy:file"
    # List, read and run every data-subject request and download the exports.
    PRIVACY_REQUESTS = "privacy:requests"
    PRIVACY_ERASE = "privacy:erase"
    AUDIT_READ = "audit:read"
    MESSAGES_SEND = "messages:send"
    MESSAGES_READ = "messages:read"
    TEMPLATES_WRITE = "templates:write"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    CATALOGUE_READ = "catalogue:read"
    CATALOGUE_WRITE = "catalogue:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    COMMERCE_READ = "commerce:read"
    COMMERCE_WRITE = "commerce:write"
    COMMERCE_SCAN = "commerce:scan"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    JOURNEYS_READ = "journeys:read"
    JOURNEYS_WRITE = "journeys:write"
    OPERATIONS_READ = "operations:read"
    # Attribution, returns and customer comparisons (aggregates, no person's data); cost imports.
    ANALYTICS_READ = "analytics:read"
    ANALYTICS_WRITE = "analytics:write"

    # Service cases: read the inbox and the figures; open, answer, note, assign and resolve cases.
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"


# Least privilege per role; docs/roles.md shows the same decisions as a table, and
# tests/integration/auth/test_authorisation_matrix.py checks every operation against it.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    # Erasure is the data-protection officer's alone: not even an administrator deletes a person.
    # Only an administrator (the integration of a system that runs its own double opt-in) records
    # an email grant as confirmed, and reads the pending confirmation links for an outside mailer.
    "admin": frozenset(Permission) - {Permission.PRIVACY_ERASE},
    # Marketing writes templates and sends marketing messages; service sends transactional ones and
    # works the hotline's tasks; a store works its own queue (messaging/api.py checks which send and
    # which queue a role may use).
    "marketing": frozenset(
        {
            Permission.PROFILES_READ,
            Permission.SOURCES_READ,
            Permission.CONSENTS_READ,
            Permission.MESSAGES_SEND,
            Permission.MESSAGES_READ,
            Permission.TEMPLATES_WRITE,
            Permission.CATALOGUE_READ,
            Permission.SEGMENTS_READ,
            Permission.SEGMENTS_WRITE,
            Permission.JOURNEYS_READ,
            Permission.JOURNEYS_WRITE,
            Permission.ANALYTICS_READ,
            Permission.ANALYTICS_WRITE,
        }
    ),
    # The hotline sees orders, products and stock to answer questions; it does not change them. It
    # files a caller's data-subject request, but does not list others' requests or read exports.
    "service": frozenset(
        {
            Permission.PROFILES_READ,
            Permission.PROFILES_UNMERGE,
            Permission.CONSENTS_READ,
            Permission.CONSENTS_WRITE,
            Permission.PRIVACY_FILE,
            Permission.MESSAGES_SEND,
            Permission.MESSAGES_READ,
            Permission.TASKS_READ,
            Permission.TASKS_WRITE,
            Permission.CATALOGUE_READ,
            Permission.STOCK_READ,
            Permission.COMMERCE_READ,
            Permission.SEGMENTS_READ,
            Permission.JOURNEYS_READ,
            Permission.CASES_READ,
            Permission.CASES_WRITE,
        }
    ),
    # Store staff scan, reserve, sell and hand over at the till, book the store's stock, and take
    # consents at the counter.
    "store": frozenset(
        {
            Permission.PROFILES_READ,
            Permission.CONSENTS_READ,
            Permission.CONSENTS_WRITE,
            Permission.TASKS_READ,
            Permission.TASKS_WRITE,
            Permission.CATALOGUE_READ,
            Permission.STOCK_READ,
            Permission.STOCK_WRITE,
            Permission.COMMERCE_READ,
            Permission.COMMERCE_WRITE,
            Permission.COMMERCE_SCAN,
            # the store's own queue only (service/cases.py)
            Permission.CASES_READ,
            Permission.CASES_WRITE,
        }
    ),
    "privacy": frozenset(
        {
            Permission.PROFILES_READ,
            Permission.PROFILES_UNMERGE,
            Permission.CONSENTS_READ,
            Permission.CONSENTS_WRITE,
            Permission.PRIVACY_FILE,
            Permission.PRIVACY_REQUESTS,
            Permission.PRIVACY_ERASE,
            Permission.AUDIT_READ,
        }
    ),
}


def store_binding_error(role: str, store_id: str | None) -> str | None:
    """Why a role and a store binding do not fit together, or None.

    A store's principal without a store would pass every own-store check (None means "any store"),
    so the store role needs one; other roles act for every store and take none.
    """
    if role == "store" and not store_id:
        return "a store user or token needs a store (the location id)"
    if role != "store" and store_id:
        return "only store users and tokens are tied to a store"
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    name: str
    role: str
    # A store user (or a till's token) handles only this store's reservations and pick-ups.
    store_id: str | None = None
    # "token" for API tokens, "staff" for console users: the actor recorded in logs and audits.
    kind: str = "token"

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def may_see_store(self, location_id: str | None) -> bool:
        """Whether this principal may see or handle something of this store (per object)."""
        return self.store_id is None or self.store_id == location_id

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    store_id: str | None = None
