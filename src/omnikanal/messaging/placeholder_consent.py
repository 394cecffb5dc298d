"""A stand-in for the consent capability until ``hub.consent`` exists: it never allows marketing.

It answers the contact question from the profile table alone: an unknown or erased profile is never
contacted, transactional messages may go, marketing is refused with ``no_consent``. Suppressions are
kept in memory only. Replace it with the real consent service (``hub.consent``) when it is there.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from sqlalchemy import Engine, select

from omnikanal.consent.model import ConsentChange, ContactDecision, Reason
from omnikanal.db.engine import read_tx
from omnikanal.db.tables import profiles


class PlaceholderConsentRefusingMarketing:
    def __init__(self, engine: Engine, public_url: str) -> None:
        self._engine = engine
        self._public_url = public_url.rstrip("/")
        self._suppressed: set[str] = set()
        self._lock = threading.Lock()

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        with read_tx(self._engine) as conn:
            state = conn.execute(select(profiles.c.state).where(profiles.c.id == profile_id)).scalar()
        if state is None:
            return ContactDecision(False, Reason.UNKNOWN_PROFILE, profile_id, purpose, channel)
        if purpose is None:
            return ContactDecision(True, Reason.TRANSACTIONAL, profile_id, purpose, channel)
        return ContactDecision(False, Reason.NO_CONSENT, profile_id, purpose, channel)

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]:
        # Nothing is granted here, so a withdrawal changes nothing; the real ledger records it.
        return [{"purpose": c.purpose, "status": c.status.value, "channel": c.channel} for c in changes]

    @staticmethod
    def _key(identifier_type: str, value: str) -> str:
        return hashlib.sha256(f"{identifier_type}:{value.strip().lower()}".encode()).hexdigest()

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        with self._lock:
            self._suppressed.add(self._key(identifier_type, value))

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        with self._lock:
            return self._key(identifier_type, value) in self._suppressed

    def preference_url(self, profile_id: str) -> str:
        return f"{self._public_url}/preferences"
