"""A merchant in headless Chromium: logs in, finds a shipment, watches its timeline grow live."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kit.auth import Role
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, PASSWORD, merchant_user, place_order

pytestmark = pytest.mark.browser


def _scan(server: str, tracking_no: str) -> None:
    body = {"warehouse": "HZ", "station": "in-1", "code": tracking_no}
    key = api_key(Role.staff, warehouse_codes=("HZ",))
    response = httpx.post(f"{server}/api/v1/scans", json=body, headers=auth(key), timeout=10)
    assert response.json()["outcome"] == "matched", response.text


def test_merchant_watches_a_shipment_clear_customs(server: str, page: Any) -> None:
    merchant_user("kiwi")
    mine = place_order(1, "HZ", merchant=MERCHANT_A)
    place_order(2, "HZ", merchant=MERCHANT_A)

    page.goto(f"{server}/track")
    assert "/login" in page.url
    page.fill("input[name=username]", "kiwi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/track")

    page.fill("input[name=order_no]", mine["order_no"])
    page.click("form[action='/track'] button[type=submit]")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    page.click(f"text={mine['order_no']}")
    page.wait_for_url(f"{server}/track/{mine['order_no']}")
    assert page.text_content("#state") == "received"
    assert page.locator("#timeline tr").count() == 1

    _scan(server, mine["tracking_no"])
    released = page.locator("#timeline tr[data-topic='clearance.released']")
    released.wait_for(timeout=60_000)
    assert page.text_content("#state") == "released"
    timeline = page.text_content("#timeline") or ""
    assert "放行 · Released" in timeline and "海关入库 · Accepted by customs" in timeline
    assert page.locator("#timeline tr").count() >= 7
