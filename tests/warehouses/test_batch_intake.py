"""Batched intake's guarantees: only good orders stored, limits across rows and chunks, retries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from kit.auth import SYSTEM
from kit.db import session_scope
from tests.conftest import Stack
from tests.factories import auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key
from tests.warehouses.conftest import Floor, count, events
from warehouses.intake import bulk
from warehouses.intake import repo as intake_repo
from warehouses.intake.batch import Item, take_orders
from warehouses.intake.service import create_order
from warehouses.models import Order, OrderLine, Parcel
from warehouses.schemas import OrderIn

BUYER_ID = "11010519491231002X"


def _stored() -> tuple[int, int, int, int]:
    return count(Order), count(OrderLine), count(Parcel), len(events("order.received"))


def _big(index: int, qty: int = 30, **changes: Any) -> dict[str, Any]:
    """An order of one buyer worth about CNY 4,233 (30 × 129.00 + 10.00 freight, 9.1% tax)."""
    order = order_payload(index, lines=[{"sku": "VITC-120", "qty": str(qty), "price": "129.00"}])
    order["buyer"]["id_number"] = BUYER_ID
    return order | changes


def _batch(floor: Floor, orders: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    headers = {**floor.admin, **params.pop("headers", {})}
    response = floor.client.post(
        "/api/v1/orders/batch", json={"orders": orders}, params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["results"]]


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [r["errors"][0]["code"] if r["errors"] else None for r in body["results"]]


def test_annual_limit_counts_earlier_rows_of_the_same_batch(floor: Floor) -> None:
    # Six orders of ~4,232 reach 25,392; a seventh would pass CNY 26,000, a small eighth fits.
    orders = [_big(40 + i) for i in range(7)] + [_big(47, qty=1)]
    body = _batch(floor, orders)
    assert _statuses(body) == ["accepted"] * 6 + ["refused", "accepted"]
    assert body["results"][6]["errors"][0]["field"] == "buyer.id_number"
    assert _codes(body)[6] == "over_annual_limit"
    with session_scope() as session:
        paid = session.scalars(select(col(Order.actural_paid))).all()
    assert len(paid) == 7 and sum(paid) <= 26000


def test_annual_limit_counts_orders_stored_by_an_earlier_request(floor: Floor) -> None:
    _batch(floor, [_big(50 + i) for i in range(4)])
    body = _batch(floor, [_big(54), _big(55), _big(56)])
    assert _statuses(body) == ["accepted", "accepted", "refused"]
    assert _stored()[0] == 6


def test_chunks_see_each_other_and_a_bad_row_leaves_nothing(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 2)
    bad_sku = order_payload(61, lines=[{"sku": "NO-SUCH-SKU", "qty": "1", "price": "1.00"}])
    orders = [order_payload(60), bad_sku, _big(62), order_payload(60), _big(63)]
    orders += [order_payload(64, tracking_no=orders[0]["tracking_no"])]
    orders += [_big(65 + i) for i in range(5)]
    body = _batch(floor, orders)
    assert _codes(body) == [
        None,
        "sku_not_in_account_book",
        None,
        "duplicate_order",
        None,
        "duplicate_tracking_no",
        None,
        None,
        None,
        None,
        "over_annual_limit",
    ]
    good = [o for o, c in zip(orders, _codes(body), strict=True) if c is None]
    assert _stored() == (len(good), sum(len(o["lines"]) for o in good), len(good), len(good))
    ids = [r["order_id"] for r in body["results"] if r["status"] == "accepted"]
    assert len(set(ids)) == len(good) and None not in ids


def test_dry_run_across_chunks_refuses_what_a_real_run_would_and_stores_nothing(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 2)
    orders = [order_payload(70), _big(71), _big(72), order_payload(70)]
    orders += [_big(73 + i) for i in range(5)]
    dry = _batch(floor, orders, dry_run=True)
    assert dry["dry_run"] is True and _stored() == (0, 0, 0, 0)
    assert all(r["order_id"] is None for r in dry["results"])
    real = _batch(floor, orders)
    assert _statuses(dry) == _statuses(real)
    assert _codes(real)[3] == "duplicate_order" and _codes(real)[-1] == "over_annual_limit"


def test_retrying_a_mixed_batch_with_its_key_creates_nothing_new(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 2)
    orders = [order_payload(80), order_payload(81, merchant="no-such"), order_payload(82)]
    key = {"headers": {"Idempotency-Key": "mixed-1"}}
    first = _batch(floor, orders, **key)
    again = _batch(floor, orders, **key)
    assert _statuses(first) == ["accepted", "refused", "accepted"]
    assert _statuses(again) == ["replayed", "refused", "replayed"]
    assert [r["order_id"] for r in again["results"]] == [r["order_id"] for r in first["results"]]
    assert _stored() == (2, len(orders[0]["lines"]) + len(orders[2]["lines"]), 2, 2)
    without_key = _batch(floor, [orders[0]])
    assert _codes(without_key) == ["duplicate_order"]


def test_a_merchant_key_takes_only_its_own_orders(floor: Floor) -> None:
    orders = [order_payload(90, merchant=MERCHANT_A), order_payload(91, merchant=MERCHANT_B)]
    headers = auth(merchant_key(MERCHANT_A))
    body = floor.client.post(
        "/api/v1/orders/batch", json={"orders": orders}, headers=headers
    ).json()
    assert _codes(body) == [None, "not_your_merchant"]
    assert _stored()[0] == 1


def test_one_order_refused_for_a_number_in_use_answers_409(floor: Floor) -> None:
    first = floor.order(95)
    again = floor.client.post("/api/v1/orders", json=first, headers=floor.admin)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_order"
    other = order_payload(96, waybill_no=first["waybill_no"])
    clash = floor.client.post("/api/v1/orders", json=other, headers=floor.admin)
    assert clash.status_code == 409 and clash.json()["field"] == "waybill_no"
    assert _stored() == (1, len(first["lines"]), 1, 1)


def test_stored_lines_carry_their_tax_and_the_order_its_totals(floor: Floor) -> None:
    body = floor.client.post("/api/v1/orders", json=_big(97), headers=floor.admin).json()
    with session_scope() as session:
        line = session.scalars(select(OrderLine)).one()
        order = session.get(Order, body["id"])
        assert order is not None
        money = (line.total_price, line.vat, line.consumption_tax)
        # 9.1% of goods + freight (cbec-facts §5.1): (3870.00 + 10.00) × 0.091 = 353.08
        assert money == (Decimal("3870.00"), Decimal("353.08"), Decimal("0.00"))
        assert order.tax_total == line.vat + line.consumption_tax
        assert order.actural_paid == order.goods_value + order.freight + order.tax_total
    assert body["tax_total"] == str(order.tax_total)


def test_a_batch_that_loses_a_race_for_an_order_number_refuses_that_order_alone(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    if stack.backend != "postgresql":
        pytest.skip("the retry runs on PostgreSQL; SQLite has a single writer")
    with session_scope() as session:
        create_order(session, OrderIn.model_validate(order_payload(100)), SYSTEM)
    reads = []
    real = intake_repo.fill_ledger

    def first_read_misses_it(session: Any, ledger: Any, orders: Any) -> None:
        """Stands in for a concurrent batch committing order 100 just after the first read."""
        reads.append(len(orders))
        if len(reads) > 1:
            real(session, ledger, orders)

    monkeypatch.setattr(intake_repo, "fill_ledger", first_read_misses_it)
    batch = [order_payload(i) for i in range(101, 125)] + [order_payload(100)]  # 25: COPY
    with session_scope() as session:
        items = [Item(OrderIn.model_validate(o)) for o in batch]
        outcomes = take_orders(session, items, SYSTEM)
    assert [o.error.code for o in outcomes if o.error] == ["duplicate_order"]
    assert outcomes[-1].order_id is None and reads == [25, 25]
    assert _stored() == (25, count(OrderLine), 25, 25)
    assert count(OrderLine) == sum(len(o["lines"]) for o in [order_payload(100), *batch[:-1]])
