"""CSV import: a row cap read a row at a time, oversize files refused before parsing, refusals
as a summary by reason and a CSV of the refused rows for the uploader alone."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from kit.settings import get_settings
from tests.factories import auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key
from tests.warehouses.conftest import Floor, count
from tests.warehouses.test_bulk_intake import _bad_id, _csv
from warehouses.intake import bulk
from warehouses.models import Order


def _upload(floor: Floor, content: bytes, headers: dict[str, str]) -> Any:
    files = {"file": ("orders.csv", content, "text/csv")}
    return floor.client.post("/api/v1/orders/import", files=files, headers=headers)


def test_a_csv_past_the_row_cap_is_refused_whole_before_anything_is_stored(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_CSV_MAX_ROWS", "3")
    get_settings.cache_clear()
    orders = [order_payload(i) for i in (61, 62, 64, 67)]  # one line each: 4 rows
    answer = _upload(floor, _csv(orders), floor.admin)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "too_many_rows"
    assert count(Order) == 0
    assert _upload(floor, _csv(orders[:3]), floor.admin).json()["accepted"] == 3


def test_the_row_cap_stops_reading_at_the_first_row_past_it() -> None:
    read: list[int] = []

    def lines() -> Any:
        yield ",".join([*bulk.ORDER_COLUMNS, *bulk.LINE_COLUMNS]) + "\n"
        for n in range(1_000_000):
            read.append(n)
            yield ",".join(["m", "HZ", f"O{n}", "t", "w", *["x"] * 7, "S", "1", "1"]) + "\n"

    with pytest.raises(bulk.ValidationFailed):
        bulk.csv_candidates(lines(), 10)
    assert len(read) == 11


def test_an_oversize_upload_is_refused_from_its_size(floor: Floor) -> None:
    big = b"merchant," + b"x" * (bulk.MAX_CSV_BYTES + 1)
    answer = _upload(floor, big, floor.admin)
    assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == "file_too_large"


def _rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))


def test_refusals_come_as_a_summary_and_a_csv_for_the_uploader_only(floor: Floor) -> None:
    mine = auth(merchant_key(MERCHANT_A))
    orders = [order_payload(i, merchant=MERCHANT_A) for i in (70, 71)]
    bad_sku = {**order_payload(72, merchant=MERCHANT_A)}
    bad_sku["lines"] = [{"sku": "NO-SUCH-SKU", "qty": "1", "price": "1.00"}]
    bad_ids = [{**_bad_id(i), "merchant": MERCHANT_A} for i in (73, 74)]
    body = _upload(floor, _csv([orders[0], bad_sku, *bad_ids, orders[1]]), mine).json()
    assert (body["accepted"], body["refused"]) == (2, 3)
    assert body["refusals"] == {"invalid_id_number": 2, "sku_not_in_account_book": 1}
    url = body["refused_rows_url"]
    download = floor.client.get(url, headers=mine)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment; filename=" in download.headers["content-disposition"]
    rows = _rows(download.content.decode("utf-8"))
    assert [r["order_no"] for r in rows] == [o["order_no"] for o in (bad_sku, *bad_ids)]
    assert [r["error_code"] for r in rows] == [
        "sku_not_in_account_book",
        *["invalid_id_number"] * 2,
    ]
    assert rows[1]["buyer_id_number"] == bad_ids[0]["buyer"]["id_number"]
    theirs = auth(merchant_key(MERCHANT_B))
    assert floor.client.get(url, headers=theirs).status_code == 404
    assert floor.client.get(url, headers=floor.admin).status_code == 200


def test_a_clean_import_has_no_refused_rows_link(floor: Floor) -> None:
    body = _upload(floor, _csv([order_payload(75)]), floor.admin).json()
    assert body["refused"] == 0 and body["refused_rows_url"] is None and body["refusals"] == {}
