"""Tables of merchant webhooks: endpoints, one delivery per event and endpoint, every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kit.outbox import utcnow


class WebhookEndpoint(SQLModel, table=True):
    """A merchant's URL subscribed to event types, with its signing secret(s) and health."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    event_types: str = Field(default="*", max_length=1000)
    secret: str = Field(max_length=80)
    previous_secret: str | None = Field(default=None, max_length=80)
    previous_secret_until: datetime | None = None
    allow_private: bool = False
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=300)
    failing_since: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint (replays are further rows); `msg_id` is the webhook-id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", "replay_no"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", index=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    msg_id: str = Field(max_length=40)
    replay_no: int = 0
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    last_status: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    """One HTTP try of a delivery: status, latency and the start of the response."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", index=True)
    attempt_no: int
    attempted_at: datetime = Field(default_factory=utcnow, index=True)
    status_code: int | None = None
    latency_ms: int = 0
    response_excerpt: str = Field(default="", sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, max_length=300)
