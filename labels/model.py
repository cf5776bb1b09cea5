"""Plain label input data and label stock sizes: the contract of the labels package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class LabelData:
    """Everything printed on one parcel label; no behaviour, no knowledge of orders."""

    waybill_no: str
    qr_payload: str
    consignee_name: str
    consignee_phone: str
    consignee_address: str
    sender_name: str
    sender_address: str
    return_address: str
    order_no: str
    weight_kg: Decimal
    warehouse_code: str
    print_date: date
    customs_status: str
    invt_no: str | None = None
    sort_code: str | None = None
    carrier_name: str | None = None
    parcel_index: int = 1
    parcel_count: int = 1


@dataclass(frozen=True)
class LabelSize:
    """Label stock dimensions in millimetres (portrait)."""

    name: str
    width_mm: float
    height_mm: float


LABEL_100x150 = LabelSize("100x150", 100.0, 150.0)
LABEL_76x130 = LabelSize("76x130", 76.0, 130.0)


def mask_phone(phone: str) -> str:
    """Mask a phone number the way carriers do: 13812345678 -> 138****5678."""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[7:]}"
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)
