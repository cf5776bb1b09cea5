"""Response body of the dashboard API: per warehouse counts, throughput, time in status, rates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HourCount(BaseModel):
    hour: datetime
    # The same hour as people read it (Beijing time, two digits): the page shows this one.
    hour_beijing: str = Field(examples=["14"])
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
    unmatched_receipts: int = Field(
        default=0, description="Receipts matching no declaration that wait for a broker"
    )
