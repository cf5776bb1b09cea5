"""Request and response bodies of the webhooks API: endpoints, deliveries, attempts, replay."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://merchant.example.com/hooks/clearway",
                    "event_types": ["clearance.*", "order.received"],
                    "description": "ERP",
                }
            ]
        }
    )

    url: str = Field(min_length=8, max_length=500)
    event_types: list[str] = Field(default_factory=lambda: ["*"], max_length=40)
    description: str = Field(default="", max_length=200)
    merchant: str | None = Field(
        default=None, max_length=32, description="Merchant code; admins only"
    )
    allow_private: bool = Field(
        default=False, description="Admins only: allow loopback or private addresses"
    )


class EndpointPatch(BaseModel):
    url: str | None = Field(default=None, min_length=8, max_length=500)
    event_types: list[str] | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class AllowPrivateIn(BaseModel):
    allow: bool


class EndpointOut(BaseModel):
    id: int
    merchant_id: int
    url: str = Field(examples=["https://merchant.example.com/hooks/clearway"])
    description: str
    event_types: list[str] = Field(examples=[["clearance.*"]])
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    allow_private: bool
    created_at: datetime


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="Signing secret (Standard Webhooks, whsec_…)")


class AttemptOut(BaseModel):
    attempt_no: int
    attempted_at: datetime
    status_code: int | None = Field(examples=[200])
    latency_ms: int
    response_excerpt: str
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    msg_id: str = Field(examples=["msg_cw42"])
    replay_no: int
    state: str = Field(examples=["succeeded"])
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    created_at: datetime
    attempt_log: list[AttemptOut]


class ReplayIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"event_id": 42}]})

    event_id: int | None = Field(default=None, ge=1, le=2**62)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class ReplayOut(BaseModel):
    deliveries: int = Field(examples=[3])


class EventTypesOut(BaseModel):
    event_types: list[str]
