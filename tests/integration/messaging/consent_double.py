"""A stand-in for the consent capability (being built on main) with the same interface.

It keeps grants and withdrawals in memory and answers the contact question from them; the tests
switch to the real ``hub.consent`` when it is merged.
"""

from __future__ import annotations

import threading
from typing import Any

from omnikanal.consent.model import ConsentChange, ConsentStatus, ContactDecision, Reason
from omnikanal.errors import NotFound
from omnikanal.hub import Hub


class MemoryConsent:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._status: dict[tuple[str, str], ConsentStatus] = {}
        self._suppressed: set[tuple[str, str]] = set()
        self.recorded: list[tuple[str, ConsentChange, str]] = []
        self._lock = threading.Lock()

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        try:
            live = self._hub.profiles.live_id(profile_id)
        except NotFound:
            return ContactDecision(False, Reason.UNKNOWN_PROFILE, profile_id, purpose, channel)
        if purpose is None:
            return ContactDecision(True, Reason.TRANSACTIONAL, live, purpose, channel)
        with self._lock:
            status = self._status.get((live, purpose))
        if status is ConsentStatus.GRANTED:
            return ContactDecision(True, Reason.GRANTED, live, purpose, channel)
        reason = Reason.WITHDRAWN if status is ConsentStatus.WITHDRAWN else Reason.NO_CONSENT
        return ContactDecision(False, reason, live, purpose, channel)

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]:
        live = self._hub.profiles.live_id(profile_id)
        with self._lock:
            for change in changes:
                self._status[(live, change.purpose)] = change.status
                self.recorded.append((live, change, source))
        return [{"purpose": c.purpose, "status": c.status.value} for c in changes]

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        with self._lock:
            self._suppressed.add((identifier_type, value.lower()))

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        with self._lock:
            return (identifier_type, value.lower()) in self._suppressed

    def preference_url(self, profile_id: str) -> str:
        return f"{self._hub.settings.public_url}/preferences/{profile_id}"


def grant(hub: Hub, profile_id: str, purpose: str, channel: str | None = None) -> None:
    """Record a granted consent (the real ledger's record() once merged)."""
    hub.messaging.consent.record(
        profile_id,
        [ConsentChange(purpose=purpose, status=ConsentStatus.GRANTED, channel=channel)],
        source="test",
    )
