"""Typed inputs of the customs messages: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

BONDED = "1210"
DIRECT = "9610"


@dataclass(frozen=True)
class Options:
    """Choices where the sources conflict (cbec-facts §9); the defaults are the common forms."""

    version: Literal["1.0", "v1.0"] = "1.0"
    # §9.1: HYT and ZZ2016 spell it consigneeDitrict, ZJ-ORDER consigneeDistrict.
    district_element: Literal["consigneeDitrict", "consigneeDistrict"] = "consigneeDitrict"
    # §9.2: money is N19,5 in the unified spec and N19,2 in older local specs.
    money_places: Literal[2, 5] = 2


DEFAULT_OPTIONS = Options()


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
    trade_mode: str = BONDED
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
    ie_flag: str = "I"
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class OrderLine311:
    """One CEB311 OrderList line (one per SKU)."""

    gnum: int
    item_name: str
    gmodel: str
    unit: str
    qty: Decimal
    price: Decimal
    total_price: Decimal
    country: str
    item_no: str | None = None
    item_describe: str | None = None
    bar_code: str | None = None
    currency: str = "142"
    note: str | None = None


@dataclass(frozen=True)
class Order311:
    """CEB311 OrderHead + lines: the platform's electronic order."""

    guid: str
    app_time: datetime
    order_no: str
    ebp_code: str
    ebp_name: str
    ebc_code: str
    ebc_name: str
    goods_value: Decimal
    freight: Decimal
    discount: Decimal
    tax_total: Decimal
    actural_paid: Decimal
    buyer_reg_no: str
    buyer_name: str
    buyer_telephone: str
    buyer_id_number: str
    consignee: str
    consignee_telephone: str
    consignee_address: str
    lines: tuple[OrderLine311, ...]
    pay_code: str | None = None
    pay_name: str | None = None
    pay_transaction_id: str | None = None
    batch_numbers: str | None = None
    consignee_district: str | None = None
    app_type: str = "1"
    app_status: str = "2"
    order_type: str = "I"
    currency: str = "142"
    buyer_id_type: str = "1"
    note: str | None = None


@dataclass(frozen=True)
class Payment411:
    """CEB411 PaymentHead: the payment company's voucher (field order per ZJ-PAY)."""

    guid: str
    app_time: datetime
    pay_code: str
    pay_name: str
    pay_transaction_id: str
    order_no: str
    ebp_code: str
    ebp_name: str
    payer_id_number: str
    payer_name: str
    amount_paid: Decimal
    pay_time: datetime
    telephone: str | None = None
    payer_id_type: str = "1"
    app_type: str = "1"
    app_status: str = "2"
    currency: str = "142"
    note: str | None = None


@dataclass(frozen=True)
class Waybill511:
    """CEB511 LogisticsHead: the carrier's waybill for one parcel."""

    guid: str
    app_time: datetime
    logistics_code: str
    logistics_name: str
    logistics_no: str
    order_no: str
    weight: Decimal
    consignee: str
    consignee_address: str
    consignee_telephone: str
    freight: Decimal = Decimal(0)
    insured_fee: Decimal = Decimal(0)
    bill_no: str | None = None
    pack_no: int = 1
    goods_info: str | None = None
    app_type: str = "1"
    app_status: str = "2"
    currency: str = "142"
    note: str | None = None


@dataclass(frozen=True)
class Cancel623:
    """CEB623 InvtCancel: ask customs to withdraw an accepted inventory (撤销申请单)."""

    guid: str
    app_time: datetime
    customs_code: str
    order_no: str
    ebp_code: str
    ebp_name: str
    ebc_code: str
    ebc_name: str
    logistics_no: str
    logistics_code: str
    logistics_name: str
    cop_no: str
    invt_no: str
    buyer_id_number: str
    buyer_name: str
    buyer_telephone: str
    agent_code: str
    agent_name: str
    reason: str
    pre_no: str | None = None
    buyer_id_type: str = "1"
    app_type: str = "1"
    app_status: str = "2"
    note: str | None = None


@dataclass(frozen=True)
class RefundLine625:
    """One CEB625 InvtRefundList line: which inventory line goes back, and how much of it."""

    gnum: int
    gcode: str
    gname: str
    qty: Decimal
    unit: str
    note: str | None = None


@dataclass(frozen=True)
class Refund625:
    """CEB625 InvtRefundHead + lines: a return of all or part of a released inventory."""

    guid: str
    app_time: datetime
    customs_code: str
    order_no: str
    ebp_code: str
    ebp_name: str
    ebc_code: str
    ebc_name: str
    logistics_no: str
    logistics_code: str
    logistics_name: str
    cop_no: str
    invt_no: str
    buyer_id_number: str
    buyer_name: str
    buyer_telephone: str
    agent_code: str
    agent_name: str
    reason: str
    lines: tuple[RefundLine625, ...]
    pre_no: str | None = None
    buyer_id_type: str = "1"
    app_type: str = "1"
    app_status: str = "2"
    note: str | None = None


Document = Order311 | Payment411 | Waybill511 | Inventory | Cancel623 | Refund625
