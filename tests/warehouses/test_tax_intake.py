"""Intake taxes goods + freight + insured fee (cbec-facts §5.1), takes a merchant's tax within
customs' 5% (§5.2), and lets a single indivisible item over CNY 5,000 through at full tax."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from kit.db import session_scope
from tests.factories import order_payload
from tests.warehouses.conftest import Floor
from warehouses.intake.bulk import LINE_COLUMNS, OPTIONAL_COLUMNS, ORDER_COLUMNS
from warehouses.models import Order, OrderLine, Sku

VITC = {"sku": "VITC-120", "qty": "1", "price": "129.00"}
SERUM_ALONE = {"sku": "SERUM-30ML", "qty": "1", "price": "6800.00"}


def _vitc(index: int, **changes: Any) -> dict[str, Any]:
    """The issue's worked example: one VITC-120 at 129.00 with 20.00 freight."""
    return order_payload(index, lines=[VITC], freight="20.00") | changes


def _post(floor: Floor, payload: dict[str, Any]) -> Any:
    return floor.client.post("/api/v1/orders", json=payload, headers=floor.admin)


def test_tax_is_on_goods_plus_freight(floor: Floor) -> None:
    body = _post(floor, _vitc(201)).json()
    # (129.00 + 20.00) × 9.1% = 13.559 → 13.56; goods alone would give 11.74
    assert (body["tax_total"], body["tax_computed"]) == ("13.56", "13.56")
    assert body["actural_paid"] == "162.56"


def test_the_merchants_correct_tax_is_taken(floor: Floor) -> None:
    response = _post(floor, _vitc(202, tax_total="13.56", actural_paid="162.56"))
    assert response.status_code == 201, response.text


def test_a_tax_within_five_percent_is_charged_and_ours_is_said(floor: Floor) -> None:
    body = _post(floor, _vitc(203, tax_total="13.00")).json()
    assert (body["tax_total"], body["tax_computed"], body["actural_paid"]) == (
        "13.00",
        "13.56",
        "162.00",
    )
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.order_no == body["order_no"])).one()
        assert (order.tax_total, order.tax_computed) == (Decimal("13.00"), Decimal("13.56"))


def test_a_tax_beyond_five_percent_is_refused_in_both_languages(floor: Floor) -> None:
    response = _post(floor, _vitc(204, tax_total="11.74"))  # the goods-only tax
    assert response.status_code == 422
    [issue] = response.json()["errors"]
    assert (issue["field"], issue["code"]) == ("tax_total", "tax_mismatch")
    assert "13.56" in issue["message"] and "13.56" in issue["message_zh"]
    assert response.json()["message_zh"] == issue["message_zh"]


def test_the_insured_fee_is_stored_and_taxed(floor: Floor) -> None:
    body = _post(floor, _vitc(205, insured_fee="5.00")).json()
    # (129.00 + 20.00 + 5.00) × 9.1% = 14.014; the insured fee is not in acturalPaid (§5.2)
    assert (body["insured_fee"], body["tax_total"], body["actural_paid"]) == (
        "5.00",
        "14.01",
        "163.01",
    )


def test_freight_is_spread_over_lines_and_their_tax_adds_up(floor: Floor) -> None:
    lines = [VITC, {"sku": "SERUM-30ML", "qty": "1", "price": "680.00"}]
    body = _post(floor, order_payload(206, lines=lines, freight="20.00")).json()
    with session_scope() as session:
        stored = session.exec(select(OrderLine).order_by(col(OrderLine.gnum))).all()
    # freight 20.00 by value 129 : 680 → 3.19 + 16.81; VITC 132.19 × 9.1% = 12.03;
    # SERUM 696.81 / 0.85 × 0.7 = 573.84… × (0.13, 0.15) = 74.60, 86.08
    assert [(ln.vat, ln.consumption_tax) for ln in stored] == [
        (Decimal("12.03"), Decimal("0.00")),
        (Decimal("74.60"), Decimal("86.08")),
    ]
    assert body["tax_total"] == "172.71"


def _csv(order: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*ORDER_COLUMNS, *LINE_COLUMNS, *OPTIONAL_COLUMNS])
    writer.writeheader()
    head = {
        **{k: order[k] for k in ORDER_COLUMNS[:5]},
        **{f"buyer_{k}": v for k, v in order["buyer"].items()},
        **{f"consignee_{k}": v for k, v in order["consignee"].items()},
        "freight": order["freight"],
        "insured_fee": order["insured_fee"],
    }
    writer.writerows({**head, **line} for line in order["lines"])
    return out.getvalue().encode()


def test_a_csv_carries_the_insured_fee(floor: Floor) -> None:
    order = _vitc(207, insured_fee="5.00")
    files = {"file": ("orders.csv", _csv(order), "text/csv")}
    body = floor.client.post("/api/v1/orders/import", files=files, headers=floor.admin).json()
    assert body["accepted"] == 1, body
    with session_scope() as session:
        stored = session.exec(select(Order).where(Order.order_no == order["order_no"])).one()
        assert (stored.insured_fee, stored.tax_total) == (Decimal("5.00"), Decimal("14.01"))


def _serum_tariff(rate: str) -> None:
    with session_scope() as session:
        session.execute(
            update(Sku).where(col(Sku.sku) == "SERUM-30ML").values(tariff_rate=Decimal(rate))
        )


def test_a_single_indivisible_item_over_5000_is_taken_at_full_tax(floor: Floor) -> None:
    _serum_tariff("0.05")
    body = _post(floor, order_payload(208, lines=[SERUM_ALONE])).json()
    # dutiable 6800 + 10 freight = 6810; duty 5% = 340.50; (6810 + 340.50) / 0.85 = 8412.35…
    # consumption 15% = 1261.85, VAT 13% = 1093.61 — no 70% share, the goods' full rates
    assert (body["tax_total"], body["actural_paid"]) == ("2695.96", "9505.96")
    with session_scope() as session:
        line = session.exec(select(OrderLine)).one()
        due = (line.customs_tax, line.vat, line.consumption_tax)
        assert due == (Decimal("340.50"), Decimal("1093.61"), Decimal("1261.85"))


def test_two_items_over_5000_are_still_refused(floor: Floor) -> None:
    response = _post(floor, order_payload(209, lines=[{**SERUM_ALONE, "qty": "2"}]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "over_single_order_limit"


def test_a_full_tax_item_counts_towards_the_annual_total(floor: Floor) -> None:
    first = order_payload(210, lines=[SERUM_ALONE])
    assert _post(floor, first).status_code == 201
    buyer = first["buyer"]
    for index in (211, 212):  # 9,053.29 each at full tax (tariff 0): the third passes CNY 26,000
        response = _post(floor, order_payload(index, lines=[SERUM_ALONE], buyer=buyer))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "over_annual_limit"
