"""The console's pages and who may open them. A page's module registers its entry here; the menu
shows only the pages the role may open, and every page checks the same rule on the server.

A new page (journeys, say) adds one ``Page`` to ``PAGES`` and one module with its routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omnikanal.auth.model import Permission, Principal


@dataclass(frozen=True, slots=True)
class Page:
    key: str
    path: str
    allowed: Callable[[Principal], bool]


def _roles(*roles: str) -> Callable[[Principal], bool]:
    return lambda principal: principal.role in roles


def _permission(permission: Permission) -> Callable[[Principal], bool]:
    return lambda principal: principal.may(permission)


PAGES: tuple[Page, ...] = (
    # Aggregates over every customer and channel: for the people steering the business.
    Page("overview", "/console", _roles("admin", "marketing")),
    Page("customers", "/console/customers", _permission(Permission.PROFILES_READ)),
    Page("segments", "/console/segments", _permission(Permission.SEGMENTS_READ)),
    Page("journeys", "/console/journeys", _permission(Permission.JOURNEYS_READ)),
    Page("messages", "/console/messages", _permission(Permission.MESSAGES_READ)),
    Page("store", "/console/store", _permission(Permission.COMMERCE_SCAN)),
    Page("hotline", "/console/hotline", _roles("admin", "service")),
    # the service inbox; a store's staff see their store's queue only
    Page("cases", "/console/cases", _permission(Permission.CASES_READ)),
    Page("quality", "/console/quality", _permission(Permission.QUARANTINE_READ)),
    Page("analytics", "/console/analytics", _permission(Permission.ANALYTICS_READ)),
    Page("matching", "/console/matching", _permission(Permission.PROFILES_UNMERGE)),
    Page("privacy", "/console/privacy", _permission(Permission.PRIVACY_REQUESTS)),
)
BY_KEY: dict[str, Page] = {page.key: page for page in PAGES}


def visible(principal: Principal) -> list[Page]:
    return [page for page in PAGES if page.allowed(principal)]


def home(principal: Principal) -> str:
    """Where a user lands after login: the first page their role may open."""
    pages = visible(principal)
    return pages[0].path if pages else "/console/customers"
