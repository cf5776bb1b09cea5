"""Typed inputs of the customs messages: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Transfer:
    """BaseTransfer: who transmits the message over the DXP channel."""

    cop_code: str
    cop_name: str
    dxp_id: str
    dxp_mode: str = "DXP"
    note: str | None = None


@dataclass(frozen=True)
class InventoryLine:
    """One InventoryList line; gnum maps one-to-one onto the order line."""

    gnum: int
    item_record_no: str | None
    item_no: str | None
    item_name: str | None
    gcode: str
    gname: str
    gmodel: str
    bar_code: str | None
    country: str
    qty: Decimal
    unit: str
    qty1: Decimal
    unit1: str
    price: Decimal
    total_price: Decimal
    qty2: Decimal | None = None
    unit2: str | None = None
    trade_country: str | None = None
    currency: str = "142"
    note: str | None = None


@dataclass(frozen=True)
class Inventory:
    """CEB621 InventoryHead + lines: the retail import declaration list (清单)."""

    guid: str
    app_time: datetime
    order_no: str
    ebp_code: str
    ebp_name: str
    ebc_code: str
    ebc_name: str
    logistics_no: str
    logistics_code: str
    logistics_name: str
    cop_no: str
    assure_code: str
    ems_no: str | None
    decl_time: date
    customs_code: str
    port_code: str
    buyer_id_number: str
    buyer_name: str
    buyer_telephone: str
    consignee_address: str
    agent_code: str
    agent_name: str
    area_code: str | None
    area_name: str | None
    traf_mode: str
    freight: Decimal
    insured_fee: Decimal
    gross_weight: Decimal
    net_weight: Decimal
    lines: tuple[InventoryLine, ...]
    trade_mode: str = "1210"
    app_type: str = "1"
    app_status: str = "2"
    pre_no: str | None = None
    invt_no: str | None = None
    ie_date: date | None = None
    traf_no: str | None = None
    voyage_no: str | None = None
    bill_no: str | None = None
    loct_no: str | None = None
    license_no: str | None = None
    country: str = "142"
    wrap_type: str | None = None
    pack_no: int = 1
    buyer_id_type: str = "1"
    currency: str = "142"
    note: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
