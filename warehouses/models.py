"""Tables of the floor: warehouses, merchants, the bonded account book, orders, parcels, scans."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kit.db import partial_index
from kit.outbox import utcnow


def money_column() -> Column:
    return Column(Numeric(19, 2), nullable=False)


def qty_column() -> Column:
    return Column(Numeric(19, 5), nullable=False)


class Warehouse(SQLModel, table=True):
    """A bonded warehouse and its customs profile (loaded from warehouses/profiles.toml)."""

    __tablename__ = "warehouses"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)
    name: str = Field(max_length=100)
    name_zh: str = Field(max_length=100)
    city: str = Field(max_length=40)
    customs_code: str = Field(max_length=4)
    port_code: str = Field(max_length=4)
    area_code: str = Field(max_length=18)
    area_name: str = Field(max_length=100)
    ems_no: str = Field(max_length=30)
    agent_code: str = Field(max_length=18)
    agent_name: str = Field(max_length=100)
    logistics_code: str = Field(max_length=18)
    logistics_name: str = Field(max_length=100)
    traf_mode: str = Field(max_length=1)
    loct_no: str | None = Field(default=None, max_length=10)
    return_address: str = Field(max_length=200)
    cop_code: str = Field(max_length=18)
    cop_name: str = Field(max_length=100)
    dxp_id: str = Field(max_length=30)
    unverified_fields: str = Field(default="", max_length=400)
    # The carrier the warehouse ships with, from profiles.toml [CODE.carrier]: its name and the
    # 三段码 sort codes by destination (warehouses.carriers reads it); None: no carrier settings.
    carrier: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Merchant(SQLModel, table=True):
    """An overseas e-commerce enterprise (a country pavilion) selling through a platform."""

    __tablename__ = "merchants"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    country_code: str = Field(max_length=3)
    ebc_code: str = Field(max_length=18)
    ebc_name: str = Field(max_length=100)
    ebp_code: str = Field(max_length=18)
    ebp_name: str = Field(max_length=100)


class Sku(SQLModel, table=True):
    """An item in a warehouse's bonded account book (账册), with its customs classification."""

    __tablename__ = "skus"
    __table_args__ = (UniqueConstraint("warehouse_id", "merchant_id", "sku"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouses.id", index=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    sku: str = Field(max_length=30)
    item_record_no: str = Field(max_length=30)
    gcode: str = Field(max_length=10)
    gname: str = Field(max_length=250)
    gmodel: str = Field(max_length=510)
    bar_code: str | None = Field(default=None, max_length=50)
    origin_country: str = Field(max_length=3)
    unit: str = Field(max_length=3)
    unit1: str = Field(max_length=3)
    qty1_per_unit: Decimal = Field(sa_column=qty_column())
    unit2: str | None = Field(default=None, max_length=3)
    qty2_per_unit: Decimal | None = Field(default=None, sa_column=Column(Numeric(19, 5)))
    unit_weight_kg: Decimal = Field(sa_column=qty_column())
    vat_rate: Decimal = Field(sa_column=Column(Numeric(6, 4), nullable=False))
    consumption_tax_rate: Decimal = Field(sa_column=Column(Numeric(6, 4), nullable=False))
    # The duty (tariff) rate: 0 within the CBEC limits, charged in full on a single indivisible
    # item over CNY 5,000 (cbec-facts §5.1).
    tariff_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(6, 4), nullable=False)
    )


class Order(SQLModel, table=True):
    """A cross-border retail order as the platform sold it; the customs order (CEB311) data."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("merchant_id", "order_no"),)

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    warehouse_id: int = Field(foreign_key="warehouses.id", index=True)
    order_no: str = Field(max_length=60, index=True)
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    status: str = Field(default="received", max_length=16)
    buyer_reg_no: str = Field(max_length=60)
    buyer_name: str = Field(max_length=60)
    buyer_id_number: str = Field(max_length=18, index=True)
    buyer_phone: str = Field(max_length=30)
    consignee_name: str = Field(max_length=100)
    consignee_phone: str = Field(max_length=50)
    consignee_address: str = Field(max_length=200)
    goods_value: Decimal = Field(sa_column=money_column())
    freight: Decimal = Field(sa_column=money_column())
    insured_fee: Decimal = Field(default=Decimal(0), sa_column=money_column())
    discount: Decimal = Field(sa_column=money_column())
    tax_total: Decimal = Field(sa_column=money_column())  # charged to the buyer, declared
    tax_computed: Decimal = Field(default=Decimal(0), sa_column=money_column())  # the formula's
    actural_paid: Decimal = Field(sa_column=money_column())
    # The goods value customs took back (CEB625 concluded by CEB626): it no longer counts
    # towards the buyer's annual limit (GACC 2020 No.45, cbec-facts §5.3).
    returned_value: Decimal = Field(default=Decimal(0), sa_column=money_column())
    pay_code: str | None = Field(default=None, max_length=18)
    pay_name: str | None = Field(default=None, max_length=100)
    pay_transaction_id: str | None = Field(default=None, max_length=60)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class OrderLine(SQLModel, table=True):
    """One SKU line of an order with the CBEC tax computed for it."""

    __tablename__ = "order_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    gnum: int
    sku_id: int = Field(foreign_key="skus.id")
    qty: Decimal = Field(sa_column=qty_column())
    price: Decimal = Field(sa_column=money_column())
    total_price: Decimal = Field(sa_column=money_column())
    customs_tax: Decimal = Field(default=Decimal(0), sa_column=money_column())
    vat: Decimal = Field(sa_column=money_column())
    consumption_tax: Decimal = Field(sa_column=money_column())


class Parcel(SQLModel, table=True):
    """The physical parcel of an order: what the floor scans, labels and lets out at the gate."""

    __tablename__ = "parcels"
    # Partial: the parcels the declare stage looks for, so its query stays small as the
    # warehouse's history grows (migration 0010 says why).
    __table_args__ = (
        partial_index(
            "ix_parcels_to_declare", "id", "floor_state = 'received' AND customs_state = 'none'"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", unique=True)
    warehouse_id: int = Field(foreign_key="warehouses.id", index=True)
    tracking_no: str = Field(max_length=60, unique=True)
    waybill_no: str = Field(max_length=60, unique=True)
    expected_weight_kg: Decimal = Field(sa_column=qty_column())
    weight_kg: Decimal | None = Field(default=None, sa_column=Column(Numeric(19, 5)))
    floor_state: str = Field(default="expected", max_length=16)
    customs_state: str = Field(default="none", max_length=24)
    matched_at: datetime | None = None
    gate_out_at: datetime | None = None


class OrderCode(SQLModel, table=True):
    """A code the floor scans a parcel by (its order, tracking or waybill number), held by one
    order of a warehouse: the unique index keeps a scan from ever matching two orders there,
    even when two intakes race."""

    __tablename__ = "order_codes"
    __table_args__ = (UniqueConstraint("warehouse_id", "code", name="uq_order_codes_code"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouses.id")
    code: str = Field(max_length=60)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: str = Field(max_length=8)


class ImportRefusal(SQLModel, table=True):
    """The refused rows of one CSV import, kept for the uploader to download (by its token)."""

    __tablename__ = "import_refusals"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, unique=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchants.id")
    actor: str = Field(max_length=120)
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Scan(SQLModel, table=True):
    """One read of a barcode at a station: who, where, when, what, and the outcome shown."""

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint(
            "warehouse_id", "station", "client_scan_id", name="uq_scans_client_scan_id"
        ),
        Index("ix_scans_station_id", "warehouse_id", "station", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouses.id", index=True)
    station: str = Field(max_length=40)
    client_scan_id: str | None = Field(default=None, max_length=64)
    code: str = Field(max_length=100)
    weight_kg: Decimal | None = Field(default=None, sa_column=Column(Numeric(19, 5)))
    outcome: str = Field(max_length=20)
    parcel_id: int | None = Field(default=None, foreign_key="parcels.id", index=True)
    actor: str = Field(max_length=120)
    scanned_at: datetime = Field(default_factory=utcnow)
    kind: str = Field(default="inbound", max_length=8)
    bag_id: int | None = Field(default=None, foreign_key="bags.id")
    parent_scan_id: int | None = Field(default=None, foreign_key="scans.id")
    message: str | None = Field(default=None, max_length=200)
    undone_at: datetime | None = None
    undone_by: str | None = Field(default=None, max_length=120)


class Bag(SQLModel, table=True):
    """A bag (or pallet) label covering several parcels: one scan receives them all."""

    __tablename__ = "bags"

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouses.id", index=True)
    label: str = Field(max_length=60, unique=True)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)


class BagParcel(SQLModel, table=True):
    """Which parcels a bag holds; a parcel sits in at most one bag."""

    __tablename__ = "bag_parcels"

    bag_id: int = Field(foreign_key="bags.id", primary_key=True)
    parcel_id: int = Field(foreign_key="parcels.id", primary_key=True, unique=True)


class FloorException(SQLModel, table=True):
    """A parcel the floor could not take in as expected, waiting until someone acts on it."""

    __tablename__ = "floor_exceptions"
    __table_args__ = (Index("ix_floor_exceptions_open", "warehouse_id", "state", "reason"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouses.id")
    scan_id: int = Field(foreign_key="scans.id")
    code: str = Field(max_length=100)
    reason: str = Field(max_length=20)
    parcel_id: int | None = Field(default=None, foreign_key="parcels.id", index=True)
    state: str = Field(default="open", max_length=16)
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=120)
    attached_order_id: int | None = Field(default=None, foreign_key="orders.id")
