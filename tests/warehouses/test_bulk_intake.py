"""Intake by idempotency key, JSON batch and CSV: row by row, dry run, nothing partial."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from cli import app as cli_app
from tests.factories import order_payload
from tests.warehouses.conftest import Floor, count, events
from warehouses import api
from warehouses.intake.bulk import LINE_COLUMNS, OPTIONAL_COLUMNS, ORDER_COLUMNS
from warehouses.models import Order, OrderLine, Parcel

HEADER = [*ORDER_COLUMNS, *LINE_COLUMNS, *OPTIONAL_COLUMNS]


def _stored() -> tuple[int, int, int, int]:
    return count(Order), count(OrderLine), count(Parcel), len(events("order.received"))


def _csv_rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    head = {
        **{k: order[k] for k in ORDER_COLUMNS[:5]},
        **{f"buyer_{k}": v for k, v in order["buyer"].items()},
        **{f"consignee_{k}": v for k, v in order["consignee"].items()},
        "freight": order["freight"],
    }
    return [{**head, **line} for line in order["lines"]]


def _csv(orders: list[dict[str, Any]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER)
    writer.writeheader()
    for order in orders:
        writer.writerows(_csv_rows(order))
    return out.getvalue().encode(encoding)


def _bad_id(index: int) -> dict[str, Any]:
    order = order_payload(index)
    order["buyer"]["id_number"] = order["buyer"]["id_number"][:17] + (
        "0" if order["buyer"]["id_number"][17] != "0" else "1"
    )
    return order


def _two_lines(index: int, second_sku: str) -> dict[str, Any]:
    order = order_payload(index)
    order["lines"] = [
        {"sku": "VITC-120", "qty": "1", "price": "129.00"},
        {"sku": second_sku, "qty": "1", "price": "119.00"},
    ]
    return order


def test_idempotency_key_makes_a_retry_harmless(floor: Floor) -> None:
    order = order_payload(1)
    headers = {**floor.admin, "Idempotency-Key": "retry-me-1"}
    first = floor.client.post("/api/v1/orders", json=order, headers=headers)
    again = floor.client.post("/api/v1/orders", json=order, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert _stored()[0] == 1
    same_merchant = order_payload(2, merchant=order["merchant"])
    other = floor.client.post("/api/v1/orders", json=same_merchant, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


def test_a_request_that_loses_the_race_for_its_key_answers_as_the_replay(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one key at once: the loser's insert breaks the unique key after the
    winner committed; it is judged again and answers the winner's order, not a 500."""
    order = order_payload(8)
    headers = {**floor.admin, "Idempotency-Key": "race-1"}
    real_submit, calls = api.submit_order, []

    def winner_commits_first(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            assert (
                floor.client.post("/api/v1/orders", json=order, headers=headers).status_code == 201
            )
            raise IntegrityError("INSERT INTO orders", {}, Exception("duplicate key"))
        return real_submit(*args)

    monkeypatch.setattr(api, "submit_order", winner_commits_first)
    loser = floor.client.post("/api/v1/orders", json=order, headers=headers)
    assert loser.status_code == 200
    assert _stored()[0] == 1


def test_batch_answers_order_by_order_and_keeps_only_the_good(floor: Floor) -> None:
    orders = [order_payload(3), _bad_id(4), _two_lines(5, "NOT-IN-BOOK"), order_payload(6)]
    orders.append(order_payload(3) | {"tracking_no": "IN-OTHER-7"})
    response = floor.client.post(
        "/api/v1/orders/batch", json={"orders": orders}, headers=floor.admin
    )
    body = response.json()
    assert (body["accepted"], body["refused"]) == (2, 3)
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "refused",
        "refused",
        "accepted",
        "refused",
    ]
    assert body["results"][1]["errors"][0]["field"] == "buyer.id_number"
    assert body["results"][2]["errors"][0] == {
        "field": "lines[1].sku",
        "code": "sku_not_in_account_book",
        "message": "SKU NOT-IN-BOOK is not in warehouse HZ's bonded account book",
    }
    assert body["results"][4]["errors"][0]["code"] == "duplicate_order"
    assert _stored() == (2, sum(len(orders[i]["lines"]) for i in (0, 3)), 2, 2)


def test_batch_dry_run_checks_everything_and_stores_nothing(floor: Floor) -> None:
    orders = [order_payload(8), order_payload(8), _bad_id(9)]
    response = floor.client.post(
        "/api/v1/orders/batch",
        params={"dry_run": True},
        json={"orders": orders},
        headers=floor.admin,
    )
    body = response.json()
    assert body["dry_run"] is True
    assert [r["status"] for r in body["results"]] == ["accepted", "refused", "refused"]
    assert body["results"][1]["errors"][0]["code"] == "duplicate_order"
    assert _stored() == (0, 0, 0, 0)


def test_batch_with_a_key_replays_instead_of_duplicating(floor: Floor) -> None:
    orders = [order_payload(10), order_payload(11)]
    headers = {**floor.admin, "Idempotency-Key": "batch-1"}
    floor.client.post("/api/v1/orders/batch", json={"orders": orders}, headers=headers)
    again = floor.client.post("/api/v1/orders/batch", json={"orders": orders}, headers=headers)
    assert [r["status"] for r in again.json()["results"]] == ["replayed", "replayed"]
    assert _stored()[0] == 2


def test_batch_row_with_a_missing_field_is_refused_by_name(floor: Floor) -> None:
    broken = order_payload(12)
    del broken["consignee"]["phone"]
    body = floor.client.post(
        "/api/v1/orders/batch", json={"orders": [broken]}, headers=floor.admin
    ).json()
    assert body["results"][0]["errors"][0]["field"] == "consignee.phone"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_with_mixed_rows_leaves_exactly_the_good_orders(floor: Floor, encoding: str) -> None:
    good = [_two_lines(20, "DIAPER-L"), order_payload(21), order_payload(22)]
    bad = [_two_lines(23, "NO-SUCH-SKU"), _bad_id(24)]
    in_file = [good[0], bad[0], good[1], bad[1], good[2]]
    content = _csv(in_file, encoding)
    response = floor.client.post(
        "/api/v1/orders/import",
        files={"file": ("orders.csv", content, "text/csv")},
        headers=floor.admin,
    )
    body = response.json()
    assert (body["accepted"], body["refused"]) == (3, 2)
    refused = [r for r in body["results"] if r["status"] == "refused"]
    assert [(r["order_no"], r["rows"]) for r in refused] == [
        (order["order_no"], _rows_of(in_file, order)) for order in bad
    ]
    assert refused[0]["errors"][0]["field"] == "lines[1].sku"
    with_lines = sum(len(o["lines"]) for o in good)
    assert _stored() == (3, with_lines, 3, 3)
    stored = floor.client.get(f"/api/v1/shipments/{good[0]['order_no']}", headers=floor.admin)
    assert stored.status_code == 200


def _rows_of(in_file: list[dict[str, Any]], order: dict[str, Any]) -> list[int]:
    """CSV line numbers of an order's rows (line 1 is the header)."""
    start = 2 + sum(len(o["lines"]) for o in in_file[: in_file.index(order)])
    return list(range(start, start + len(order["lines"])))


def test_csv_without_required_columns_is_refused_whole(floor: Floor) -> None:
    response = floor.client.post(
        "/api/v1/orders/import",
        files={"file": ("orders.csv", b"order_no,sku\nA,B\n", "text/csv")},
        headers=floor.admin,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert "merchant" in response.json()["message"]


def test_cli_import_orders_reports_rows_and_stores_the_good(floor: Floor, tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(_csv([order_payload(30), _bad_id(31), order_payload(32)]))
    dry = CliRunner().invoke(cli_app, ["import-orders", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "2 would be accepted" in dry.output
    assert _stored()[0] == 0
    result = CliRunner().invoke(cli_app, ["import-orders", str(path)])
    assert result.exit_code == 1
    assert "2 accepted" in result.output and "1 refused" in result.output
    assert "buyer.id_number" in result.output
    assert _stored()[0] == 2


def test_a_batch_row_whose_order_number_is_not_text_is_refused_by_name(floor: Floor) -> None:
    response = floor.client.post(
        "/api/v1/orders/batch", json={"orders": [{"order_no": []}]}, headers=floor.admin
    )
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["status"] == "refused" and row["order_no"] is None


@pytest.mark.parametrize("content", [b"\r0\r\n", b'"unclosed,quote\n', b"a,b\n1,2,3,4\n"])
def test_a_malformed_csv_is_refused_not_a_server_error(floor: Floor, content: bytes) -> None:
    response = floor.client.post(
        "/api/v1/orders/import",
        files={"file": ("orders.csv", content, "text/csv")},
        headers=floor.admin,
    )
    assert response.status_code == 422, response.text
