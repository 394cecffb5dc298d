"""Web Push subscriptions: a website or app registers the browser's PushSubscription for a user.

Registration is authenticated with the source's write key and the person is found as ingest finds
them: the registration is stored as a ``Push Subscribed`` event through ingest (so identity
resolution, merges and the timeline are ingest's own), then the subscription is tied to the live
profile the event landed on. Re-registering the same endpoint moves it to that profile and makes
it active again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx, run_write
from omnikanal.db.fast import Raw
from omnikanal.errors import InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.ingest.service import IngestService
from omnikanal.messaging.channels.push import Subscription
from omnikanal.messaging.tables import push_subscriptions
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.sources.model import Source

_ACTIVE_SQL = """
WITH RECURSIVE members(root, id) AS (
    SELECT id, id FROM profiles WHERE id IN ({ids})
    UNION
    SELECT m.root, pr.id FROM profiles pr JOIN members m ON pr.merged_into = m.id
)
SELECT m.root, ps.id, ps.endpoint, ps.p256dh, ps.auth
FROM push_subscriptions ps JOIN members m ON ps.profile_id = m.id
WHERE ps.expired_at IS NULL
ORDER BY ps.created_at DESC, ps.id
"""

MAX_ID_LENGTH = 320
MAX_ENDPOINT_LENGTH = 2000
MAX_USER_AGENT_LENGTH = 400


@dataclass(frozen=True, slots=True)
class Registration:
    user_id: str | None
    anonymous_id: str | None
    endpoint: str
    p256dh: str
    auth: str
    user_agent: str | None


def _b64url_bytes(text: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_push_key", f"{field} is not base64url", field) from None


def parse_registration(body: Any, user_agent: str | None, *, allow_http: bool) -> Registration:
    """The registration from a request body (``{"userId"|"anonymousId", "subscription": the
    browser's PushSubscription.toJSON()}``); each bad field named."""
    if not isinstance(body, dict):
        raise InvalidInput("invalid_body", "send a JSON object", None)
    ids: dict[str, str | None] = {}
    for key in ("userId", "anonymousId"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str | int) or not str(value).strip()):
            raise InvalidInput("invalid_identifier", f"{key} must be a non-empty string", key)
        if value is not None and len(str(value)) > MAX_ID_LENGTH:
            raise InvalidInput("invalid_identifier", f"{key} is longer than {MAX_ID_LENGTH}", key)
        ids[key] = str(value).strip() if value is not None else None
    if not ids["userId"] and not ids["anonymousId"]:
        raise InvalidInput("missing_identifier", "userId or anonymousId is required", "userId")
    sub = body.get("subscription")
    if not isinstance(sub, dict):
        raise InvalidInput("invalid_subscription", "subscription must be an object", "subscription")
    endpoint = sub.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise InvalidInput(
            "invalid_endpoint",
            f"subscription.endpoint must be a URL of at most {MAX_ENDPOINT_LENGTH} characters",
            "subscription.endpoint",
        )
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(
            "invalid_endpoint", "subscription.endpoint must be an https URL", "subscription.endpoint"
        )
    keys = sub.get("keys")
    if not isinstance(keys, dict):
        raise InvalidInput("invalid_push_key", "subscription.keys must be an object", "subscription.keys")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or len(p256dh) > 200:
        raise InvalidInput(
            "invalid_push_key", "subscription.keys.p256dh is required", "subscription.keys.p256dh"
        )
    if not isinstance(auth, str) or len(auth) > 100:
        raise InvalidInput("invalid_push_key", "subscription.keys.auth is required", "subscription.keys.auth")
    point = _b64url_bytes(p256dh, "subscription.keys.p256dh")
    if len(point) != 65 or point[0] != 4:
        raise InvalidInput(
            "invalid_push_key",
            "subscription.keys.p256dh must be an uncompressed P-256 point",
            "subscription.keys.p256dh",
        )
    if len(_b64url_bytes(auth, "subscription.keys.auth")) != 16:
        raise InvalidInput(
            "invalid_push_key", "subscription.keys.auth must be 16 bytes", "subscription.keys.auth"
        )
    agent = body.get("userAgent") if isinstance(body.get("userAgent"), str) else user_agent
    return Registration(
        ids["userId"],
        ids["anonymousId"],
        endpoint,
        p256dh,
        auth,
        agent[:MAX_USER_AGENT_LENGTH] if agent else None,
    )


def subscription_view(row: Any) -> dict[str, Any]:
    parts = urlsplit(row.endpoint)
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        # the endpoint is a capability URL (whoever has it can push): only its service is shown
        "push_service": f"{parts.scheme}://{parts.netloc}",
        "user_agent": row.user_agent,
        "created_at": isoformat(row.created_at),
        "expired_at": isoformat(row.expired_at),
        "expired_reason": row.expired_reason,
        "active": row.expired_at is None,
    }


class PushSubscriptions:
    def __init__(self, engine: Engine, clock: Clock, ingest: IngestService) -> None:
        self._engine = engine
        self._clock = clock
        self._ingest = ingest

    def register(self, source: Source, reg: Registration) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "track",
            "event": "Push Subscribed",
            "properties": {
                "push_service": f"{urlsplit(reg.endpoint).scheme}://{urlsplit(reg.endpoint).netloc}"
            },
            "context": {"userAgent": reg.user_agent} if reg.user_agent else {},
        }
        if reg.user_id:
            event["userId"] = reg.user_id
        if reg.anonymous_id:
            event["anonymousId"] = reg.anonymous_id
        submission = self._ingest.prepare(source, [event])
        if submission.rejected:
            _, rejection, _ = submission.rejected[0]
            raise InvalidInput(rejection.code, rejection.message, rejection.field)
        wanted = list(submission.valid[0][1])
        now = self._clock.now()

        def work(conn: Connection) -> Any:
            self._ingest.write(conn, [submission])
            profile_id = _profile_of(conn, wanted)
            if profile_id is None:  # an erased person's identifiers: their events are dropped
                raise NotFound("unknown_person", "no profile for these identifiers")
            existing = conn.execute(
                select(push_subscriptions.c.id).where(push_subscriptions.c.endpoint == reg.endpoint)
            ).first()
            values = {
                "profile_id": profile_id,
                "p256dh": reg.p256dh,
                "auth": reg.auth,
                "user_agent": reg.user_agent,
                "source_id": source.id,
                "updated_at": now,
                "expired_at": None,
                "expired_reason": None,
            }
            if existing is None:
                sub_id = new_id("psub")
                conn.execute(
                    push_subscriptions.insert().values(
                        id=sub_id, endpoint=reg.endpoint, created_at=now, **values
                    )
                )
            else:
                sub_id = existing.id
                conn.execute(
                    update(push_subscriptions).where(push_subscriptions.c.id == sub_id).values(values)
                )
            return conn.execute(select(push_subscriptions).where(push_subscriptions.c.id == sub_id)).one()

        return subscription_view(run_write(self._engine, work))

    def unregister(self, endpoint: str) -> bool:
        """The site's unsubscribe (PushSubscription.unsubscribe()): never sent to again."""
        return self.expire_endpoint(endpoint, "unregistered")

    def expire_endpoint(self, endpoint: str, reason: str) -> bool:
        now = self._clock.now()

        def work(conn: Connection) -> int:
            result = conn.execute(
                update(push_subscriptions)
                .where(push_subscriptions.c.endpoint == endpoint, push_subscriptions.c.expired_at.is_(None))
                .values(expired_at=now, expired_reason=reason, updated_at=now)
            )
            return int(result.rowcount)

        return run_write(self._engine, work) > 0

    def expire(self, subscription_id: str, reason: str) -> None:
        now = self._clock.now()
        run_write(
            self._engine,
            lambda conn: conn.execute(
                update(push_subscriptions)
                .where(push_subscriptions.c.id == subscription_id, push_subscriptions.c.expired_at.is_(None))
                .values(expired_at=now, expired_reason=reason, updated_at=now)
            ),
        )

    def active(self, profile_ids: Sequence[str]) -> dict[str, list[Subscription]]:
        """Active subscriptions per live profile (over its merge set: a browser registered while
        anonymous belongs to the customer it merged into), newest first."""
        found: dict[str, list[Subscription]] = {}
        if not profile_ids:
            return found
        with read_tx(self._engine) as conn:
            raw = Raw(conn)
            ids = list(profile_ids)
            sql = _ACTIVE_SQL.format(ids=raw.in_list(len(ids)))
            for root, sub_id, endpoint, p256dh, auth in raw.fetch(sql, ids):
                found.setdefault(root, []).append(Subscription(sub_id, endpoint, p256dh, auth))
        return found

    def of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            ids = chain.merge_set(conn, profile_id)
            rows = conn.execute(
                select(push_subscriptions)
                .where(push_subscriptions.c.profile_id.in_(ids))
                .order_by(push_subscriptions.c.created_at.desc())
            )
            return [subscription_view(r) for r in rows]


def _profile_of(conn: Connection, wanted: list[Any]) -> str | None:
    """The live profile of the event's identifiers (user id first)."""
    ranked = sorted(wanted, key=lambda ident: 0 if ident[0] == "user_id" else 1)
    for kind, value in ranked:
        owner = profiles.owner(conn, kind, value)
        if owner is not None:
            return chain.resolve_live(conn, owner)
    return None
