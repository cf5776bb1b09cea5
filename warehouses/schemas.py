"""Request and response shapes of the floor's API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

# Printable ASCII without space, quotes or backslash: what a barcode, a customs message and a
# download file name all carry safely. Customs gives only lengths (orderNo and logisticsNo are
# C..60, cbec-facts §2.2 and §2.6); the inbound tracking number shares the parcel's 60.
CUSTOMS_CODE = r"^[!#-&(-\[\]-~]+$"
CODE_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("\"'\\")


def _customs_characters(value: str) -> str:
    if not set(value) <= CODE_CHARACTERS:
        raise PydanticCustomError(
            "customs_characters",
            "use printable ASCII letters, digits and punctuation only: no spaces, quotes, "
            "backslashes, control or non-ASCII characters (仅限可打印ASCII字符)",
        )
    return value


CustomsCode = Annotated[
    str,
    Field(min_length=1, max_length=60, json_schema_extra={"pattern": CUSTOMS_CODE}),
    AfterValidator(_customs_characters),
]


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
    """One order as a merchant posts it; tax is computed by Clearway on goods + freight +
    insured fee, and a given `tax_total` is taken when within customs' 5% of it."""

    model_config = ConfigDict(extra="forbid")

    merchant: str = Field(min_length=1, max_length=32, examples=["nz-pavilion"])
    warehouse: str = Field(min_length=2, max_length=8, examples=["HZ"])
    order_no: CustomsCode = Field(examples=["TM20261111000001"])
    tracking_no: CustomsCode = Field(examples=["IN-NZ-0000001"])
    waybill_no: CustomsCode = Field(examples=["YT1000000001"])
    buyer: Buyer
    consignee: Consignee
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    freight: Decimal = Field(default=Decimal(0), ge=0, max_digits=19, decimal_places=2)
    insured_fee: Decimal = Field(default=Decimal(0), ge=0, max_digits=19, decimal_places=2)
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
    insured_fee: Decimal
    discount: Decimal
    tax_total: Decimal = Field(description="the tax charged: the merchant's if within 5%")
    tax_computed: Decimal = Field(description="the tax by the CBEC formula, as Clearway computed")
    actural_paid: Decimal
    tracking_no: str
    waybill_no: str
    status: str


class RowResult(BaseModel):
    """How one order of a batch or CSV fared: accepted (with its id) or refused (with why)."""

    index: int
    order_no: str | None
    rows: list[int] = Field(default_factory=list)
    status: Literal["accepted", "refused", "replayed"]
    order_id: int | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class BatchIn(BaseModel):
    """Several orders in one request; each is accepted or refused on its own."""

    model_config = ConfigDict(extra="forbid")

    orders: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class BatchOut(BaseModel):
    dry_run: bool
    accepted: int
    refused: int
    # Refused orders by reason code (an order refused for two reasons counts under both).
    refusals: dict[str, int] = Field(default_factory=dict)
    # A CSV import with refusals: its refused rows as uploaded, each with why (the uploader's).
    refused_rows_url: str | None = None
    results: list[RowResult]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="cancelled by merchant", min_length=1, max_length=200)


ScanMode = Literal["inbound", "gate_out"]


class ScanIn(BaseModel):
    """What a scan station sends: where, which station, the code read, optional weight."""

    # Scanners and hand-typed codes bring stray spaces; the code itself never has them at its ends.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    warehouse: str = Field(min_length=2, max_length=8, examples=["HZ"])
    station: str = Field(min_length=1, max_length=40, examples=["inbound-1"])
    code: str = Field(min_length=1, max_length=100, examples=["IN-NZ-0000001"])
    weight_kg: Decimal | None = Field(default=None, gt=0, max_digits=19, decimal_places=5)
    client_scan_id: str | None = Field(default=None, min_length=1, max_length=64)
    mode: ScanMode = "inbound"


class ScanItem(BaseModel):
    """The verdict on one parcel of a scan (a bag scan has one per parcel in the bag)."""

    outcome: str
    message: str
    order_no: str | None = None
    parcel_id: int | None = None
    tracking_no: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class ScanOut(BaseModel):
    scan_id: int
    outcome: str
    message: str
    order_no: str | None = None
    parcel_id: int | None = None
    details: dict[str, str] = Field(default_factory=dict)
    items: list[ScanItem] = Field(default_factory=list)
    replayed: bool = False


class ScanBatchIn(BaseModel):
    """Scans a handheld buffered while offline, or a conveyor tunnel read, sent in one go."""

    model_config = ConfigDict(extra="forbid")

    scans: list[ScanIn] = Field(min_length=1, max_length=500)


class ScanBatchOut(BaseModel):
    results: list[ScanOut]


class StationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    warehouse: str = Field(min_length=2, max_length=8)
    station: str = Field(min_length=1, max_length=40)


class ScanLogRow(BaseModel):
    id: int
    kind: str
    code: str
    outcome: str
    message: str | None
    actor: str
    station: str
    weight_kg: Decimal | None
    scanned_at: datetime
    undone_at: datetime | None


class UndoOut(ScanLogRow):
    """The scan undone, and how many parcels it had taken in that are expected again."""

    parcels_put_back: int


class BagIn(BaseModel):
    """A bag label and the parcels (by inbound tracking number) it covers."""

    model_config = ConfigDict(extra="forbid")

    warehouse: str = Field(min_length=2, max_length=8)
    label: str = Field(min_length=1, max_length=60)
    tracking_nos: list[str] = Field(min_length=1, max_length=500)


class BagOut(BaseModel):
    id: int
    label: str
    warehouse: str
    parcels: int


class ExceptionOut(BaseModel):
    id: int
    code: str
    reason: str
    state: str
    parcel_id: int | None
    order_no: str | None
    note: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    scanned_by: str
    station: str


class ExceptionAction(BaseModel):
    """What someone decided for a parcel in the exception queue."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["attach", "return", "dispose"]
    order_no: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=200)


class FloorSummary(BaseModel):
    warehouse: str
    expected: int
    received: int
    shipped: int
    open_exceptions: dict[str, int]
