"""Request and response shapes of the floor's API (pydantic)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Buyer(BaseModel):
    reg_no: str = Field(min_length=1, max_length=60, examples=["tmall_buyer_0001"])
    name: str = Field(min_length=1, max_length=60, examples=["张三"])
    id_number: str = Field(min_length=1, max_length=18, examples=["11010519491231002X"])
    phone: str = Field(min_length=5, max_length=30, examples=["13800138000"])


class Consignee(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["李四"])
    phone: str = Field(min_length=5, max_length=50, examples=["13912345678"])
    address: str = Field(min_length=1, max_length=200, examples=["浙江省杭州市西湖区文三路1号"])


class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=30, examples=["NZ-A2-900G"])
    qty: Decimal = Field(gt=0, max_digits=19, decimal_places=5, examples=[2])
    price: Decimal = Field(ge=0, max_digits=19, decimal_places=2, examples=["239.00"])


class Payment(BaseModel):
    code: str | None = Field(default=None, max_length=18)
    name: str | None = Field(default=None, max_length=100)
    transaction_id: str | None = Field(default=None, max_length=60)


class OrderIn(BaseModel):
    """One order as a merchant posts it; tax is computed by Clearway and checked if given."""

    model_config = ConfigDict(extra="forbid")

    merchant: str = Field(min_length=1, max_length=32, examples=["nz-pavilion"])
    warehouse: str = Field(min_length=2, max_length=8, examples=["HZ"])
    order_no: str = Field(min_length=1, max_length=60, examples=["TM20261111000001"])
    tracking_no: str = Field(min_length=1, max_length=60, examples=["IN-NZ-0000001"])
    waybill_no: str = Field(min_length=1, max_length=60, examples=["YT1000000001"])
    buyer: Buyer
    consignee: Consignee
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    freight: Decimal = Field(default=Decimal(0), ge=0, max_digits=19, decimal_places=2)
    discount: Decimal = Field(default=Decimal(0), ge=0, max_digits=19, decimal_places=2)
    tax_total: Decimal | None = Field(default=None, ge=0, max_digits=19, decimal_places=2)
    actural_paid: Decimal | None = Field(default=None, ge=0, max_digits=19, decimal_places=2)
    payment: Payment = Field(default_factory=Payment)


class OrderOut(BaseModel):
    id: int
    order_no: str
    merchant: str
    warehouse: str
    goods_value: Decimal
    freight: Decimal
    discount: Decimal
    tax_total: Decimal
    actural_paid: Decimal
    tracking_no: str
    waybill_no: str
    status: str


class ScanIn(BaseModel):
    """What a scan station sends: where, which station, the code read, optional weight."""

    model_config = ConfigDict(extra="forbid")

    warehouse: str = Field(min_length=2, max_length=8, examples=["HZ"])
    station: str = Field(min_length=1, max_length=40, examples=["inbound-1"])
    code: str = Field(min_length=1, max_length=100, examples=["IN-NZ-0000001"])
    weight_kg: Decimal | None = Field(default=None, gt=0, max_digits=19, decimal_places=5)
    client_scan_id: str | None = Field(default=None, max_length=64)


class ScanOut(BaseModel):
    scan_id: int
    outcome: str
    message: str
    order_no: str | None = None
    parcel_id: int | None = None
    details: dict[str, str] = Field(default_factory=dict)
