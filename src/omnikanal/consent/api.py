"""Consent API: a profile's consents with their history, recording changes, the contact question,
and the double opt-in confirmations waiting to be sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.errors import Forbidden
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, aware_time, require

router = APIRouter(tags=["consent"], responses=ERROR_RESPONSES)


class Proof(BaseModel):
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=500)
    staff_user: str | None = Field(
        default=None, max_length=200, description="who took the consent in a store or on the phone"
    )
    confirmed_at: datetime | None = Field(
        default=None, description="when the person confirmed a double opt-in run by the sending system"
    )
    signature_ref: str | None = Field(default=None, max_length=200, description="reference to a signed form")


class ChangeIn(BaseModel):
    purpose: str = Field(min_length=1, max_length=60)
    status: Literal["granted", "denied", "withdrawn", "pending"]
    channel: str | None = Field(default=None, max_length=20, description="where the consent was given")
    wording: str | None = Field(default=None, max_length=2000, description="the text the person saw")
    policy_version: str | None = Field(default=None, max_length=60)
    proof: Proof = Field(default_factory=Proof)
    occurred_at: datetime | None = Field(default=None, description="when it was given; default now")


class ConsentsIn(BaseModel):
    changes: list[ChangeIn] = Field(min_length=1, max_length=50)
    source: str | None = Field(
        default=None,
        max_length=200,
        description="the system or place it came from; default: the token's name",
    )


@router.get(
    "/api/profiles/{profile_id}/consents", summary="Current consent per purpose and the whole history"
)
def get_consents(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.CONSENTS_READ)
    result = hub.consent.consents(profile_id)
    hub.audit.record(principal.actor, "consents.read", result["profile_id"])
    return result


@router.post(
    "/api/profiles/{profile_id}/consents",
    status_code=201,
    summary="Record consent changes (an email grant stays pending until confirmed)",
)
def post_consents(hub: HubDep, principal: PrincipalDep, profile_id: str, body: ConsentsIn) -> dict[str, Any]:
    require(principal, Permission.CONSENTS_WRITE)
    changes = []
    for index, change in enumerate(body.changes):
        if change.proof.confirmed_at is not None and not principal.may(Permission.CONSENTS_CONFIRMED):
            # The hub cannot check another system's double opt-in: only an administrator's
            # integration may claim one; at a counter or on the phone the hub sends its own link.
            field = f"changes[{index}].proof.confirmed_at"
            raise Forbidden(
                "forbidden",
                f"{field}: the role {principal.role!r} may not record a consent as already confirmed "
                f"(needs {Permission.CONSENTS_CONFIRMED.value}); leave it out and the customer gets "
                "a confirmation link",
                field,
            )
        proof = change.proof.model_dump(exclude_none=True, mode="json")
        proof.setdefault("staff_user", principal.name)
        changes.append(
            ConsentChange(
                purpose=change.purpose,
                status=ConsentStatus(change.status),
                channel=change.channel,
                wording=change.wording,
                policy_version=change.policy_version,
                proof=proof,
                occurred_at=aware_time(change.occurred_at, f"changes[{index}].occurred_at"),
            )
        )
    records = hub.consent.record(
        profile_id, changes, source=body.source or f"api:{principal.name}", actor=principal.actor
    )
    return {"profile_id": hub.profiles.live_id(profile_id), "records": records}


@router.get(
    "/api/profiles/{profile_id}/contact", summary="May this profile be contacted now, and if not, why?"
)
def may_contact(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: str,
    purpose: Annotated[str | None, Query(max_length=60, description="omit for transactional contact")] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    require(principal, Permission.CONSENTS_READ)
    return hub.consent.may_contact(profile_id, purpose, channel).as_dict()


@router.get("/api/consents/purposes", summary="The consent purposes in use")
def purposes(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.CONSENTS_READ)
    return {"purposes": list(hub.consent.config.purposes)}


@router.get(
    "/api/consents/confirmations",
    summary="Double opt-in confirmations waiting to be sent or clicked (address, link, expiry)",
)
def confirmations(
    hub: HubDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="skip this many, oldest first")] = 0,
    unsent: Annotated[bool, Query(description="only those whose email is not sent yet")] = False,
) -> dict[str, Any]:
    require(principal, Permission.CONSENTS_CONFIRMATIONS)
    return {"items": hub.consent.pending_confirmations(limit, unsent=unsent, offset=offset)}


@router.post(
    "/api/consents/confirmations/{confirmation_id}/sent",
    status_code=204,
    summary="Mark a confirmation email as sent",
)
def confirmation_sent(hub: HubDep, principal: PrincipalDep, confirmation_id: str) -> None:
    require(principal, Permission.CONSENTS_CONFIRMATIONS)
    hub.consent.mark_confirmation_sent(confirmation_id)
