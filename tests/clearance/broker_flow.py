"""Helpers for broker tests: a parcel up to `submitted`, and customs rejecting its first message."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from clearance.gateway.folder import atomic_write
from clearance.pipeline.models import ClearanceCase
from declarations.codes import CEB_NS
from declarations.receipts import Receipt, build_ceb622
from kit.db import session_scope
from kit.settings import get_settings
from kit.xmlsafe import parse_untrusted
from tests.factories import auth, order_payload
from warehouses.models import Order

UNSENT = ("matched", "declared")
REASON = "[Code:1300;Desc:订购人电话与支付信息不一致 buyer telephone does not match payment]"


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def case_state(cop_no: str) -> str:
    with session_scope() as session:
        query = select(col(ClearanceCase.state)).where(col(ClearanceCase.cop_no) == cop_no)
        return session.scalars(query).one()


def wrong_check_digit(id_number: str) -> str:
    """The same ID number with a check digit that fails GB 11643 (a typo that slipped in)."""
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def _order_exists(order_no: str) -> bool:
    with session_scope() as session:
        query = select(col(Order.id)).where(col(Order.order_no) == order_no)
        return session.scalars(query).first() is not None


def corrupt_buyer_id(order_no: str) -> str:
    """Break the stored buyer ID, as a bad import would; returns the correct number."""
    # The request's transaction may commit a moment after its response has been sent.
    wait_until(lambda: _order_exists(order_no), f"order {order_no} to be committed", timeout=10)
    with session_scope() as session:
        order = session.scalars(select(Order).where(col(Order.order_no) == order_no)).one()
        good, order.buyer_id_number = (
            order.buyer_id_number,
            wrong_check_digit(order.buyer_id_number),
        )
        session.add(order)
    return good


def submit_parcel(
    client: TestClient, key: str, index: int = 1, *, break_id: bool = False
) -> tuple[str, str]:
    """Order and inbound scan; returns (order_no, cop_no) once the case is submitted."""
    order = order_payload(index, "HZ")
    assert client.post("/api/v1/orders", json=order, headers=auth(key)).status_code == 201
    if break_id:
        corrupt_buyer_id(order["order_no"])
    scan = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
    assert client.post("/api/v1/scans", json=scan, headers=auth(key)).json()["outcome"] == "matched"

    def submitted() -> str | None:
        with session_scope() as session:
            query = select(col(ClearanceCase.cop_no), col(ClearanceCase.state))
            rows = session.execute(query).tuples().all()
        return next((cop for cop, state in rows if state not in UNSENT), None)

    return order["order_no"], wait_until(submitted, "the case to be submitted")


def _text(head: Any, name: str) -> str:
    found = head.find(f"{{{CEB_NS}}}{name}")
    return found.text if found is not None else ""


def reject_sent_message(reason: str = REASON) -> str:
    """Play customs for the first message: take it from the send folder, answer 100."""
    send_dir = get_settings().send_dir
    path: Path = wait_until(lambda: next(iter(sorted(send_dir.glob("*.xml"))), None), "a message")
    head = parse_untrusted(path.read_bytes()).find(f".//{{{CEB_NS}}}InventoryHead")
    path.unlink()
    assert head is not None
    keys = {name: _text(head, name) for name in ("customsCode", "ebpCode", "ebcCode", "copNo")}
    receipt = Receipt("CEB622", _text(head, "guid"), 100, "20260101090000000", reason, keys)
    name = f"CEB622_{keys['copNo']}_100.xml"
    atomic_write(get_settings().receive_dir, name, build_ceb622([receipt], guid=str(uuid.uuid4())))
    return keys["copNo"]
