"""Order, tracking and waybill numbers hold only what barcodes, customs messages and download
file names carry safely; downloads name their file per RFC 6266/5987 whatever the name."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import update
from sqlmodel import col

from kit.db import session_scope
from kit.web import content_disposition
from tests.factories import order_payload
from tests.warehouses.conftest import Floor
from warehouses.models import Order

HOSTILE = {
    "chinese": "订单123",
    "rtl_mark": "TM\u202e123",
    "nul": "TM\x00123",
    "crlf": "TM\r\nX-Evil: 1",
    "double_quote": 'TM"123',
    "single_quote": "TM'123",
    "backslash": "TM\\123",
    "space": "TM 123",
    "tab": "TM\t123",
    "delete": "TM\x7f123",
}


@pytest.mark.parametrize("field", ["order_no", "tracking_no", "waybill_no"])
def test_intake_refuses_numbers_outside_the_customs_characters(floor: Floor, field: str) -> None:
    for name, value in HOSTILE.items():
        answer = floor.client.post(
            "/api/v1/orders", json=order_payload(40, **{field: value}), headers=floor.admin
        )
        assert answer.status_code == 422, (name, answer.text)
        [issue] = answer.json()["errors"]
        assert (issue["field"], issue["code"]) == (field, "customs_characters"), name


def test_intake_refuses_numbers_longer_than_customs_allows(floor: Floor) -> None:
    answer = floor.client.post(
        "/api/v1/orders", json=order_payload(41, waybill_no="Y" * 61), headers=floor.admin
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "waybill_no"


def test_intake_takes_printable_ascii_punctuation(floor: Floor) -> None:
    floor.order(42, order_no="TM-2026/11#42_a.b+c", tracking_no="IN:42@x~y", waybill_no="YT[42]")


def test_a_batch_refuses_a_hostile_number_row_by_row(floor: Floor) -> None:
    orders = [order_payload(43, order_no='A"B'), order_payload(44)]
    body = floor.client.post(
        "/api/v1/orders/batch", json={"orders": orders}, headers=floor.admin
    ).json()
    assert [r["status"] for r in body["results"]] == ["refused", "accepted"]
    assert body["results"][0]["errors"][0]["code"] == "customs_characters"


@pytest.mark.parametrize("name", ['A"B;\r\n中文.pdf', "plain-1.pdf", "a\\b\x00c.png"])
def test_content_disposition_has_an_ascii_fallback_and_the_exact_name(name: str) -> None:
    header = content_disposition(name)
    header.encode("ascii")  # nothing a header may not carry
    fallback = header.split('filename="', 1)[1].split('";', 1)[0]
    assert all(" " <= c <= "~" and c not in '"\\' for c in fallback)
    assert "\r" not in header and "\n" not in header
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name


def _rename(order_no: str, to: str) -> None:
    """An order stored before numbers were restricted."""
    with session_scope() as session:
        session.execute(update(Order).where(col(Order.order_no) == order_no).values(order_no=to))


@pytest.mark.parametrize("path", ["label.pdf", "label.png"])
def test_a_label_of_an_older_hostile_number_downloads_with_an_encoded_name(
    floor: Floor, path: str
) -> None:
    order: dict[str, Any] = floor.order(45)
    legacy = 'TM"45中'
    _rename(order["order_no"], legacy)
    answer = floor.client.get(f"/api/v1/shipments/{legacy}/{path}", headers=floor.admin)
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert (
        disposition.startswith('inline; filename="TM_45_')
        and "filename*=UTF-8''TM%2245%E4" in disposition
    )
