"""Code-table checks (cbec-facts §3.4–3.6): every country, unit and currency code a message
carries must exist in customs' parameter tables (declarations.codes), pure."""

from __future__ import annotations

from collections.abc import Iterable

from declarations.codes import COUNTRIES, CURRENCIES, UNITS
from declarations.model import Inventory, Order311
from declarations.rules import Problem

# Which table a field's code is looked up in, with the table's name for a person.
TABLES: dict[str, tuple[dict[str, tuple[str, str]], str, str]] = {
    "country": (COUNTRIES, "国别(地区)", "country"),
    "tradeCountry": (COUNTRIES, "国别(地区)", "country"),
    "currency": (CURRENCIES, "币制", "currency"),
    "unit": (UNITS, "计量单位", "unit"),
    "unit1": (UNITS, "计量单位", "unit"),
    "unit2": (UNITS, "计量单位", "unit"),
}


def unknown_code(where: str, field: str, value: str | None) -> Problem | None:
    """A Problem when `value` is not in the table `field` draws from (blank is not checked)."""
    if not value:
        return None
    table, zh, en = TABLES[field]
    if value in table:
        return None
    path = f"{where}/{field}" if where else field
    why = f"{field} {value} is not in customs' {en} code table"
    return Problem("unknown_code", path, why, f"{zh}代码{value}在参数表中不存在", value)


def _found(checks: Iterable[Problem | None]) -> list[Problem]:
    return [p for p in checks if p]


def inventory_code_problems(inv: Inventory) -> list[Problem]:
    """The head's country and currency, and each line's country, units and currency."""
    head = (unknown_code("", "country", inv.country), unknown_code("", "currency", inv.currency))
    problems = _found(head)
    for line in inv.lines:
        where = f"InventoryList[{line.gnum}]"
        fields = (
            ("country", line.country),
            ("tradeCountry", line.trade_country),
            ("currency", line.currency),
            ("unit", line.unit),
            ("unit1", line.unit1),
            ("unit2", line.unit2),
        )
        problems += _found(unknown_code(where, name, value) for name, value in fields)
    return problems


def order_code_problems(order: Order311) -> list[Problem]:
    """The order's currency, and each line's country, unit and currency."""
    problems = _found([unknown_code("", "currency", order.currency)])
    for line in order.lines:
        where = f"OrderList[{line.gnum}]"
        fields = (("country", line.country), ("currency", line.currency), ("unit", line.unit))
        problems += _found(unknown_code(where, name, value) for name, value in fields)
    return problems
