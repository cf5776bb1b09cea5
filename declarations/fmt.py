"""Number and time formats of the CEB messages: money at 2 decimals, quantities up to 5, and
times in Beijing time (the customs clock), plus the inverse parsers used by readers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
QTY = Decimal("0.00001")
MONEY_STEPS = {2: CENT, 5: QTY}
CHINA_TZ = timezone(timedelta(hours=8), "CST")


def money(value: Decimal, places: int = 2) -> str:
    """Money rounded half-up to `places` decimals (2 by default, cbec-facts §9.2)."""
    return format(value.quantize(MONEY_STEPS[places], rounding=ROUND_HALF_UP), "f")


def quantity(value: Decimal) -> str:
    """Up to 5 decimals, trailing zeros dropped."""
    text = format(value.quantize(QTY, rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def china_time(value: datetime) -> datetime:
    """An aware time on the customs clock (UTC+8). A naive time is refused: it is whatever the
    server's clock said, which on a UTC host is 8 hours behind what customs reads."""
    if value.tzinfo is None:
        raise ValueError(f"naive time {value.isoformat()}: customs times must be aware")
    return value.astimezone(CHINA_TZ)


def china_now() -> datetime:
    """Now on the customs clock (Beijing time), from the UTC clock whatever the host's zone."""
    return datetime.now(UTC).astimezone(CHINA_TZ)


def china_year_start(year: int) -> datetime:
    """1 January 00:00 Beijing time: when a buyer's CNY 26,000 annual allowance starts again."""
    return datetime(year, 1, 1, tzinfo=CHINA_TZ)


def timestamp(value: datetime) -> str:
    """YYYYMMDDhhmmss, as appTime requires."""
    return china_time(value).strftime("%Y%m%d%H%M%S")


def day(value: date) -> str:
    """YYYYMMDD, as declTime requires."""
    return value.strftime("%Y%m%d")


def return_time(value: datetime) -> str:
    """The 17-digit yyyyMMddHHmmssSSS of receipts."""
    value = china_time(value)
    return value.strftime("%Y%m%d%H%M%S") + f"{value.microsecond // 1000:03d}"


def parse_timestamp(text: str) -> datetime:
    """YYYYMMDDhhmmss (or the 17-digit receipt form) as an aware Beijing time."""
    moment = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TZ)
    millis = text[14:17]
    return moment + timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def parse_day(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()
