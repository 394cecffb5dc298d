"""Pydantic models of the Segment envelope, published in the OpenAPI document.

Requests are parsed by ingest.model (faster, and it quarantines instead of failing a whole batch);
these models describe the same shape for clients and tools working from /openapi.json.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["identify", "track", "page", "screen", "group", "alias"] | None = Field(
        None, description="Required inside a batch; implied by the single-event endpoints"
    )
    messageId: str | None = Field(None, description="Deduplicated per source; generated when missing")
    userId: str | None = None
    anonymousId: str | None = Field(None, description="userId or anonymousId is required")
    event: str | None = Field(None, description="track: the event name (required)")
    name: str | None = Field(None, description="page/screen: the page or screen name")
    groupId: str | None = Field(None, description="group: required")
    previousId: str | None = Field(None, description="alias: required")
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = Field(
        None,
        description="context.touchpoint.channel names the business channel per event (for systems that log "
        "touchpoints of several channels); context.externalIds adds identifiers",
    )
    integrations: dict[str, Any] | None = None
    timestamp: str | None = Field(None, description="ISO 8601 event time")
    originalTimestamp: str | None = None
    sentAt: str | None = None
    channel: str | None = Field(None, description="the sending library's channel (server, browser, mobile)")
    writeKey: str | None = Field(None, description="alternative to HTTP Basic auth")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    batch: list[Envelope] = Field(..., max_length=2500)
    context: dict[str, Any] | None = Field(None, description="merged into every item's context")
    sentAt: str | None = None
    writeKey: str | None = None


class QuarantinedItem(BaseModel):
    index: int
    code: str
    message: str
    field: str | None


class IngestResponse(BaseModel):
    success: bool
    accepted: int = Field(description="events stored now")
    duplicates: int = Field(description="events already stored under the same messageId (not stored again)")
    suppressed: int = Field(0, description="events of an erased person, dropped and never stored")
    declined: int = Field(
        0, description="events of a purpose the visitor declined (their consent context), not stored"
    )
    quarantined: list[QuarantinedItem]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
