"""The customs simulator's register: the inventories customs holds on file and each buyer's
calendar-year spend, kept in a private temporary SQLite file so a long wave stays on disk."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from declarations.fmt import china_time
from declarations.model import Inventory

_SCHEMA = """
CREATE TABLE filed (
    cop_no TEXT PRIMARY KEY, buyer TEXT NOT NULL, year INTEGER NOT NULL,
    status INTEGER NOT NULL, pre_no TEXT NOT NULL, invt_no TEXT NOT NULL,
    withdrawn INTEGER NOT NULL, lines TEXT NOT NULL
);
CREATE TABLE waybill_numbers (
    logistics_code TEXT NOT NULL, logistics_no TEXT NOT NULL, order_no TEXT NOT NULL,
    PRIMARY KEY (logistics_code, logistics_no)
);
CREATE TABLE spend (
    buyer TEXT NOT NULL, year INTEGER NOT NULL, cop_no TEXT NOT NULL, paid TEXT NOT NULL,
    PRIMARY KEY (buyer, year, cop_no)
);
"""
BuyerYear = tuple[str, int]


@dataclass(frozen=True, slots=True)
class FiledLine:
    """What a later return (CEB625) is checked and valued against, of one inventory line."""

    gcode: str
    qty: Decimal
    price: Decimal


@dataclass(slots=True)
class Filed:
    """What customs keeps of an inventory on file, by copNo: its numbers, its outcome, and what
    later cancels and returns consult. Not the whole message."""

    cop_no: str
    buyer_year: BuyerYear  # the buyer's annual book this inventory counts against
    lines: dict[int, FiledLine]  # by gnum
    status: int
    pre_no: str
    invt_no: str
    withdrawn: bool = False

    @classmethod
    def of(cls, inv: Inventory, status: int, pre_no: str, invt_no: str) -> Filed:
        lines = {line.gnum: FiledLine(line.gcode, line.qty, line.price) for line in inv.lines}
        return cls(inv.cop_no, buyer_year(inv), lines, status, pre_no, invt_no)


def buyer_year(inv: Inventory) -> BuyerYear:
    return inv.buyer_id_number.upper(), china_time(inv.app_time).year


class CustomsRegister:
    """Filed inventories by copNo, and per buyer and year what each copNo counts as paid."""

    def __init__(self) -> None:
        # "" is SQLite's private temporary file, removed when the connection closes; the
        # simulator runs on one thread at a time, but not always the one that built it.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, cop_no: str) -> Filed | None:
        row = self._db.execute("SELECT * FROM filed WHERE cop_no = ?", (cop_no,)).fetchone()
        return _filed(row) if row else None

    def put(self, filed: Filed) -> None:
        lines = {g: [ln.gcode, str(ln.qty), str(ln.price)] for g, ln in filed.lines.items()}
        self._db.execute(
            "INSERT OR REPLACE INTO filed VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (filed.cop_no, *filed.buyer_year, filed.status, filed.pre_no, filed.invt_no)
            + (int(filed.withdrawn), json.dumps(lines)),
        )

    def spent(self, book: BuyerYear, leaving_out: str) -> Decimal:
        """The buyer's total for the year, one copNo left out (it may be a change of itself)."""
        rows = self._db.execute(
            "SELECT paid FROM spend WHERE buyer = ? AND year = ? AND cop_no != ?",
            (*book, leaving_out),
        )
        return sum((Decimal(paid) for (paid,) in rows), Decimal(0))

    def paid(self, book: BuyerYear, cop_no: str) -> Decimal:
        row = self._db.execute(
            "SELECT paid FROM spend WHERE buyer = ? AND year = ? AND cop_no = ?", (*book, cop_no)
        ).fetchone()
        return Decimal(row[0]) if row else Decimal(0)

    def count(self, book: BuyerYear, cop_no: str, paid: Decimal) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO spend VALUES (?, ?, ?, ?)", (*book, cop_no, str(paid))
        )

    def holder(self, logistics_code: str, logistics_no: str) -> str | None:
        """The order a waybill number was first declared for, if any."""
        row = self._db.execute(
            "SELECT order_no FROM waybill_numbers WHERE logistics_code = ? AND logistics_no = ?",
            (logistics_code, logistics_no),
        ).fetchone()
        return str(row[0]) if row else None

    def hold(self, logistics_code: str, logistics_no: str, order_no: str) -> None:
        """A waybill number belongs to its first order (unique per carrier, cbec-facts §5.3)."""
        self._db.execute(
            "INSERT OR IGNORE INTO waybill_numbers VALUES (?, ?, ?)",
            (logistics_code, logistics_no, order_no),
        )

    def uncount(self, book: BuyerYear, cop_no: str) -> None:
        self._db.execute(
            "DELETE FROM spend WHERE buyer = ? AND year = ? AND cop_no = ?", (*book, cop_no)
        )


def _filed(row: tuple[str, str, int, int, str, str, int, str]) -> Filed:
    cop_no, buyer, year, status, pre_no, invt_no, withdrawn, lines = row
    parsed = {
        int(gnum): FiledLine(gcode, Decimal(qty), Decimal(price))
        for gnum, (gcode, qty, price) in json.loads(lines).items()
    }
    return Filed(cop_no, (buyer, year), parsed, status, pre_no, invt_no, bool(withdrawn))
