"""Pre-flight: one call listing everything customs would reject for an inventory and its order,
payment and waybill, before anything is sent (schema, trade-mode rules, ID, limits, 三单对碰)."""

from __future__ import annotations

from decimal import Decimal

from declarations.build import build_checked
from declarations.codecheck import inventory_code_problems
from declarations.consistency import mode_problems, three_document_problems
from declarations.model import (
    DEFAULT_OPTIONS,
    Document,
    Inventory,
    Options,
    Order311,
    Payment411,
    Transfer,
    Waybill511,
)
from declarations.rules import (
    CUSTOMS_TOLERANCE,
    Problem,
    expected_paid,
    id_problem,
    limit_problems,
)
from declarations.validate import Finding


def schema_problem(finding: Finding) -> Problem:
    """An XSD finding as a Problem; customs answers these with CEB900."""
    return Problem(
        f"schema_{finding.code}",
        f"{finding.message_type} {finding.path}",
        finding.rule,
        "报文格式校验不通过",
        finding.value,
    )


def schema_problems(doc: Document, transfer: Transfer, options: Options) -> list[Problem]:
    return [schema_problem(f) for f in build_checked(doc, transfer, options).findings]


def paid_by(inv: Inventory, order: Order311 | None) -> Decimal:
    """What the buyer pays: the order's acturalPaid, else the inventory's goods plus freight."""
    if order is not None:
        return order.actural_paid
    goods = sum((line.total_price for line in inv.lines), Decimal(0))
    return expected_paid(goods, inv.freight, Decimal(0), Decimal(0))


def business_problems(
    inv: Inventory,
    *,
    order: Order311 | None = None,
    payment: Payment411 | None = None,
    waybill: Waybill511 | None = None,
    spent_this_year: Decimal = Decimal(0),
    require_documents: bool = True,
    tolerance: Decimal = CUSTOMS_TOLERANCE,
) -> list[Problem]:
    """The checks customs runs on an inventory that passed the schema (the simulator uses this)."""
    problems = mode_problems(inv) + inventory_code_problems(inv)
    problems += [p for p in (id_problem(inv.buyer_id_number),) if p]
    quantities = [line.qty for line in inv.lines]
    problems += limit_problems(paid_by(inv, order), spent_this_year, quantities)
    documents = three_document_problems(inv, order, payment, waybill, tolerance)
    if not require_documents:
        documents = [p for p in documents if p.code != "missing_document"]
    return problems + documents


def preflight(
    inv: Inventory,
    transfer: Transfer,
    *,
    order: Order311 | None = None,
    payment: Payment411 | None = None,
    waybill: Waybill511 | None = None,
    spent_this_year: Decimal = Decimal(0),
    require_documents: bool = True,
    options: Options = DEFAULT_OPTIONS,
) -> list[Problem]:
    """Everything customs would reject for this inventory and its documents, schema first.
    `spent_this_year` is what the buyer already paid this calendar year, this order excluded.
    Problems of severity "warning" are allowed through but worth a look (e.g. full tax)."""
    problems: list[Problem] = []
    for doc in (inv, order, payment, waybill):
        if doc is not None:
            problems += schema_problems(doc, transfer, options)
    return problems + business_problems(
        inv,
        order=order,
        payment=payment,
        waybill=waybill,
        spent_this_year=spent_this_year,
        require_documents=require_documents,
    )


def blocking(problems: list[Problem]) -> list[Problem]:
    """The problems that would make customs reject (warnings left out)."""
    return [p for p in problems if p.severity == "error"]
