"""Number and time formats of the CEB messages: money at 2 decimals, quantities up to 5."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
QTY = Decimal("0.00001")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def quantity(value: Decimal) -> str:
    text = format(value.quantize(QTY, rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def timestamp(value: datetime) -> str:
    """YYYYMMDDhhmmss, as appTime requires."""
    return value.strftime("%Y%m%d%H%M%S")


def day(value: date) -> str:
    """YYYYMMDD, as declTime requires."""
    return value.strftime("%Y%m%d")


def return_time(value: datetime) -> str:
    """The 17-digit yyyyMMddHHmmssSSS of receipts."""
    return value.strftime("%Y%m%d%H%M%S") + f"{value.microsecond // 1000:03d}"
