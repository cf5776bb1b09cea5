"""Tables of the pipeline: clearance cases, customs messages sent, receipts received, the three
documents of each case and customs' tax bills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kit.db import partial_index
from kit.outbox import utcnow

UNMATCHED_OPEN = "outcome = 'unmatched' AND handled_at IS NULL"


class ClearanceCase(SQLModel, table=True):
    """One parcel's way through customs: its decision state and the keys customs gave it."""

    __tablename__ = "clearance_cases"
    __table_args__ = (Index("ix_cases_wh_state", "warehouse_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", unique=True)
    parcel_id: int = Field(foreign_key="parcels.id", unique=True)
    warehouse_id: int = Field(foreign_key="warehouses.id")
    state: str = Field(max_length=24, index=True)
    cop_no: str = Field(max_length=20, unique=True)
    pre_no: str | None = Field(default=None, max_length=18)
    invt_no: str | None = Field(default=None, max_length=18)
    last_status: int | None = None
    last_return_time: str | None = Field(default=None, max_length=17)
    last_return_info: str | None = Field(default=None, max_length=1000)
    state_since: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)


class CustomsMessage(SQLModel, table=True):
    """A message built for customs; transport state is kept apart from customs' decision."""

    __tablename__ = "customs_messages"
    # Partial: what the submit stage still has to hand to a gateway (migration 0010), and what
    # waits for the disk, by when it is due again (migration 0011).
    __table_args__ = (
        partial_index("ix_customs_messages_pending", "id", "transport_state = 'pending'"),
        partial_index(
            "ix_customs_messages_waiting", "next_attempt_at", "transport_state = 'waiting'"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="clearance_cases.id", index=True)
    message_type: str = Field(max_length=8)
    guid: str = Field(max_length=36, unique=True)
    app_type: str = Field(default="1", max_length=1)
    xml: str = Field(sa_column=Column(Text, nullable=False))
    transport_state: str = Field(default="pending", max_length=12, index=True)
    transport_error: str | None = Field(default=None, max_length=1000)
    file_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    written_at: datetime | None = None
    # Writes the disk refused for a passing reason, and when the sweeper tries again (waiting).
    attempts: int = 0
    next_attempt_at: datetime | None = None


class Receipt(SQLModel, table=True):
    """A receipt from customs, kept raw; de-duplicated on guid + status + returnTime. One that
    matched no case (outcome unmatched) waits for a broker to mark it handled."""

    __tablename__ = "receipts"
    # Partial: the unmatched receipts nobody has handled yet (migration 0016).
    __table_args__ = (
        UniqueConstraint("guid", "return_status", "return_time"),
        partial_index("ix_receipts_unmatched_open", "id", UNMATCHED_OPEN),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_type: str = Field(max_length=8)
    guid: str = Field(max_length=36, index=True)
    cop_no: str | None = Field(default=None, max_length=20, index=True)
    return_status: int
    return_time: str = Field(max_length=17)
    return_info: str = Field(default="", max_length=1000)
    case_id: int | None = Field(default=None, foreign_key="clearance_cases.id", index=True)
    outcome: str = Field(max_length=12)
    file_name: str | None = Field(default=None, max_length=200)
    raw: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    # The warehouse it concerns: its case's, or for an unmatched one the single warehouse whose
    # customs profile its keys name (None when no single one does: then admins see it).
    warehouse_id: int | None = Field(default=None, foreign_key="warehouses.id")
    handled_at: datetime | None = None
    handled_by: str | None = Field(default=None, max_length=80)


class OrderDocument(SQLModel, table=True):
    """Whether customs has one of an order's three documents (三单: CEB311 order, CEB411
    payment, CEB511 waybill): sent by us and answered (312/412/512), or filed by another party."""

    __tablename__ = "order_documents"
    __table_args__ = (UniqueConstraint("case_id", "doc_type"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="clearance_cases.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    warehouse_id: int = Field(foreign_key="warehouses.id")
    doc_type: str = Field(max_length=8)
    # clearway | platform | payment_company | carrier
    sender: str = Field(max_length=16)
    # filed_elsewhere | invalid | awaiting | declared | accepted | rejected | overdue
    state: str = Field(max_length=16, index=True)
    guid: str | None = Field(default=None, max_length=36, unique=True)
    last_status: int | None = None
    last_return_time: str | None = Field(default=None, max_length=17)
    info: str = Field(default="", max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


class TaxBill(SQLModel, table=True):
    """A CEB816 tax bill for one inventory, reconciled with the tax withheld at intake."""

    __tablename__ = "tax_bills"
    __table_args__ = (UniqueConstraint("invt_no", "tax_no"),)

    id: int | None = Field(default=None, primary_key=True)
    invt_no: str = Field(max_length=18, index=True)
    tax_no: str = Field(max_length=30)
    guid: str = Field(max_length=64)
    return_time: str = Field(max_length=17)
    # 1 generated, 2 summarised, 3 void (cbec-facts §2.10)
    status: str = Field(max_length=2)
    assure_code: str = Field(default="", max_length=30, index=True)
    customs_tax: Decimal = Field(sa_column=Column(Numeric(19, 2), nullable=False))
    value_added_tax: Decimal = Field(sa_column=Column(Numeric(19, 2), nullable=False))
    consumption_tax: Decimal = Field(sa_column=Column(Numeric(19, 2), nullable=False))
    total: Decimal = Field(sa_column=Column(Numeric(19, 2), nullable=False))
    withheld: Decimal | None = Field(default=None, sa_column=Column(Numeric(19, 2)))
    # matched | mismatch | unmatched (no case with this invtNo)
    outcome: str = Field(max_length=12, index=True)
    case_id: int | None = Field(default=None, foreign_key="clearance_cases.id", index=True)
    warehouse_id: int | None = Field(default=None, foreign_key="warehouses.id")
    raw: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
