"""Response bodies of the shipments API: a shipment's summary, its customs keys and timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
