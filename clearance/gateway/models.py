"""Table of each warehouse's gateway settings: its exchange folders and envelope."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kit.outbox import utcnow


class GatewaySetting(SQLModel, table=True):
    """Where one warehouse's broker runs the E-Port transfer client: its folders and envelope.

    Without a row a warehouse uses the process-wide folders (CLEARWAY_GATEWAY_SEND_DIR etc.).
    DXP id and copCode/copName come from the warehouse's customs profile.
    """

    __tablename__ = "gateway_settings"

    warehouse_id: int = Field(foreign_key="warehouses.id", primary_key=True)
    send_dir: str = Field(max_length=500)
    receive_dir: str = Field(max_length=500)
    envelope: bool = False
    file_prefix: str = Field(default="", max_length=20)
    updated_at: datetime = Field(default_factory=utcnow)
