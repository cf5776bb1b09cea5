"""Codes a parcel is scanned by (order, tracking, waybill number) are one order's per warehouse:
a clash is refused at intake, even racing; a clash left by older data is never guessed at a scan."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from kit.db import session_scope
from tests.factories import auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key
from tests.warehouses.conftest import Floor, count, parcel_state
from tests.warehouses.test_bulk_intake import _csv
from warehouses.intake import repo as intake_repo
from warehouses.models import FloorException, Order, OrderCode, Parcel


def _post(floor: Floor, payload: dict[str, Any], merchant: str) -> Any:
    headers = auth(merchant_key(merchant))
    return floor.client.post("/api/v1/orders", json=payload, headers=headers)


def _a_order(floor: Floor, index: int = 90) -> dict[str, Any]:
    payload = order_payload(index, merchant=MERCHANT_A)
    assert _post(floor, payload, MERCHANT_A).status_code == 201
    return payload


@pytest.mark.parametrize(
    ("name", "taken"),
    [("tracking_no", "order_no"), ("waybill_no", "tracking_no"), ("order_no", "waybill_no")],
)
def test_another_merchants_code_at_the_same_warehouse_is_refused(
    floor: Floor, name: str, taken: str
) -> None:
    a = _a_order(floor)
    b = {**order_payload(91, merchant=MERCHANT_B), name: a[taken]}
    answer = _post(floor, b, MERCHANT_B)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert (body["code"], body["field"]) == ("code_in_use", name)
    assert body["message"] and body["message_zh"]
    assert MERCHANT_A not in answer.text and "order_id" not in answer.text
    assert count(Order) == 1


def test_the_same_code_at_another_warehouse_is_another_parcel(floor: Floor) -> None:
    a = _a_order(floor)
    b = {**order_payload(92, "GZ", merchant=MERCHANT_B), "tracking_no": a["order_no"]}
    assert _post(floor, b, MERCHANT_B).status_code == 201


def test_a_batch_refuses_clashes_with_stored_orders_and_with_its_own(floor: Floor) -> None:
    a = _a_order(floor)
    clash_stored = {**order_payload(93, merchant=MERCHANT_B), "waybill_no": a["order_no"]}
    first = order_payload(94, merchant=MERCHANT_B)
    clash_batch = {**order_payload(95, merchant=MERCHANT_B), "tracking_no": first["order_no"]}
    body = floor.client.post(
        "/api/v1/orders/batch",
        json={"orders": [clash_stored, first, clash_batch]},
        headers=auth(merchant_key(MERCHANT_B)),
    ).json()
    assert [r["status"] for r in body["results"]] == ["refused", "accepted", "refused"]
    assert [r["errors"][0]["code"] for r in body["results"][::2]] == ["code_in_use"] * 2


def test_a_csv_import_refuses_a_clash(floor: Floor) -> None:
    a = _a_order(floor)
    clash = {**order_payload(96, merchant=MERCHANT_B), "tracking_no": a["waybill_no"]}
    body = floor.client.post(
        "/api/v1/orders/import",
        files={"file": ("orders.csv", _csv([clash]), "text/csv")},
        headers=auth(merchant_key(MERCHANT_B)),
    ).json()
    assert body["refused"] == 1
    assert body["results"][0]["errors"][0]["code"] == "code_in_use"


def test_a_racing_intake_is_stopped_by_the_database_and_refused_by_name(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's reads saw the database before A's commit (its first look is made blind here): the
    unique (warehouse, code) index refuses the insert, and judged again B gets the 409."""
    a = _a_order(floor)
    real_fill = intake_repo.fill_ledger
    calls: list[int] = []

    def stale_first(session: Any, ledger: Any, orders: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            real_fill(session, ledger, orders)

    monkeypatch.setattr(intake_repo, "fill_ledger", stale_first)
    b = {**order_payload(97, merchant=MERCHANT_B), "tracking_no": a["order_no"]}
    answer = _post(floor, b, MERCHANT_B)
    assert answer.status_code == 409 and answer.json()["code"] == "code_in_use"
    assert len(calls) == 2 and count(Order) == 1


def test_an_order_may_use_one_code_for_two_of_its_own_numbers(floor: Floor) -> None:
    payload = order_payload(98, merchant=MERCHANT_A)
    payload["tracking_no"] = payload["order_no"]
    assert _post(floor, payload, MERCHANT_A).status_code == 201
    assert count(OrderCode) == 2


def test_a_code_naming_two_orders_here_goes_to_the_exception_queue(floor: Floor) -> None:
    """Older data (before codes were unique) may hold a clash: no parcel is guessed."""
    a = _a_order(floor)
    b = order_payload(99, merchant=MERCHANT_B)
    assert _post(floor, b, MERCHANT_B).status_code == 201
    with session_scope() as session:
        session.execute(
            update(Parcel)
            .where(col(Parcel.tracking_no) == b["tracking_no"])
            .values(tracking_no=a["order_no"])
        )
    verdict = floor.scan(a["order_no"])
    assert verdict["outcome"] == "ambiguous" and verdict["order_no"] is None
    assert parcel_state(a["tracking_no"])[0] == "expected"
    assert parcel_state(a["order_no"])[0] == "expected"
    with session_scope() as session:
        [queued] = session.exec(_open_exceptions()).all()
        assert (queued.reason, queued.parcel_id, queued.code) == ("ambiguous", None, a["order_no"])


def _open_exceptions() -> Any:
    return select(FloorException).where(col(FloorException.state) == "open")
