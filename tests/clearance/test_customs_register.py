"""The customs simulator's register keeps filed inventories and annual spend on disk, exactly."""

from __future__ import annotations

from decimal import Decimal

from clearance.simulator.register import CustomsRegister, Filed, FiledLine

BOOK = ("11010519491231002X", 2026)


def test_a_filed_inventory_reads_back_as_it_was_put() -> None:
    register = CustomsRegister()
    lines = {1: FiledLine("3304990099", Decimal("2"), Decimal("199.50"))}
    filed = Filed("CW0000000001", BOOK, lines, 800, "B2026", "2928I", withdrawn=False)
    register.put(filed)
    assert register.get("CW0000000001") == filed and register.get("CW0000000002") is None
    filed.withdrawn = True
    register.put(filed)
    assert register.get("CW0000000001") == filed


def test_the_annual_book_counts_each_copno_once_and_leaves_one_out() -> None:
    register = CustomsRegister()
    register.count(BOOK, "CW1", Decimal("100.10"))
    register.count(BOOK, "CW2", Decimal("50"))
    register.count(BOOK, "CW2", Decimal("60"))  # a change replaces what the copNo counted
    register.count(("OTHER", 2026), "CW3", Decimal("999"))
    assert register.spent(BOOK, leaving_out="CW9") == Decimal("160.10")
    assert register.spent(BOOK, leaving_out="CW1") == Decimal("60")
    assert register.paid(BOOK, "CW2") == Decimal("60")
    register.uncount(BOOK, "CW1")
    assert register.spent(BOOK, leaving_out="CW9") == Decimal("60")
    register.close()
