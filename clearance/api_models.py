"""Request and response bodies of the merchant-facing API (shipments, webhooks, dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ORDER_NO = "NZ-T-000001"


class ShipmentSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "order_no": ORDER_NO,
                    "merchant": "NZPAV",
                    "warehouse": "HZ",
                    "state": "released",
                    "waybill_no": "CW1000000001",
                    "tracking_no": "TN1000000001",
                    "created_at": "2026-11-29T02:00:00+00:00",
                }
            ]
        }
    )

    id: int
    order_no: str
    merchant: str
    warehouse: str
    state: str
    waybill_no: str
    tracking_no: str
    created_at: datetime


class TimelineEntry(BaseModel):
    id: int | None
    topic: str = Field(examples=["clearance.accepted"])
    title_zh: str = Field(examples=["海关已接收"])
    title_en: str = Field(examples=["Accepted by customs"])
    at: datetime
    actor: str = Field(examples=["customs"])
    source: str | None = None
    return_status: int | None = Field(default=None, examples=[120])
    meaning_zh: str | None = Field(default=None, examples=["海关入库"])
    meaning_en: str | None = Field(default=None, examples=["Accepted by customs"])
    payload: dict[str, Any]


class CustomsKeys(BaseModel):
    cop_no: str
    pre_no: str | None
    invt_no: str | None
    last_status: int | None
    last_return_time: str | None
    last_return_info: str | None


class ShipmentOut(BaseModel):
    order_no: str = Field(examples=[ORDER_NO])
    merchant: str | None
    warehouse: str | None
    state: str = Field(examples=["accepted"])
    waybill_no: str
    tracking_no: str
    actural_paid: str = Field(examples=["312.50"])
    created_at: datetime
    customs: CustomsKeys | None
    timeline: list[TimelineEntry]


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


class HourCount(BaseModel):
    hour: datetime
    scanned: int = Field(examples=[120])
    released: int = Field(examples=[95])


class StatusTime(BaseModel):
    count: int
    median_s: float = Field(examples=[42.0])
    p95_s: float = Field(examples=[180.0])


class Rates(BaseModel):
    cases: int = Field(examples=[1200])
    rejected_rate: float = Field(default=0.0, examples=[0.012])
    inspection_rate: float = Field(default=0.0, examples=[0.03])


class WarehouseDashboard(BaseModel):
    code: str = Field(examples=["HZ"])
    name_zh: str = Field(examples=["杭州下沙保税仓"])
    counts: dict[str, int] = Field(examples=[{"released": 40, "accepted": 3}])
    total: int
    per_hour: list[HourCount]
    time_in_status: dict[str, StatusTime]
    rates: Rates


class QueueDepth(BaseModel):
    queued: int
    failed: int


class DashboardOut(BaseModel):
    generated_at: datetime
    warehouses: list[WarehouseDashboard]
    queues: dict[str, QueueDepth] = Field(description="Admins only; empty for brokers")
