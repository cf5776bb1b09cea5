"""A broker in headless Chromium works a rejected declaration: sees customs' reason and the
pre-flight finding, fixes the order data, resubmits, and watches it reach released."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kit.auth import Role
from tests.clearance.broker_flow import case_state, corrupt_buyer_id, wait_until
from tests.factories import api_key, auth, order_payload

pytestmark = pytest.mark.browser


def _rejected_parcel(server: str) -> str:
    """An order whose buyer ID was mistyped, scanned in; customs answers 100. Its copNo."""
    admin = api_key()
    order = order_payload(3, "HZ")
    created = httpx.post(f"{server}/api/v1/orders", json=order, headers=auth(admin), timeout=10)
    assert created.status_code == 201, created.text
    corrupt_buyer_id(order["order_no"])
    scan = {"warehouse": "HZ", "station": "in-1", "code": order["tracking_no"]}
    httpx.post(f"{server}/api/v1/scans", json=scan, headers=auth(admin), timeout=10)
    listed = lambda: httpx.get(  # noqa: E731
        f"{server}/api/v1/broker/declarations?state=rejected", headers=auth(admin), timeout=10
    ).json()
    return wait_until(listed, "customs to reject the declaration")[0]["cop_no"]


def _log_in(page: Any, server: str, key: str) -> None:
    page.goto(f"{server}/login?next=/broker")
    page.fill("input[name=api_key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/broker")


def test_broker_fixes_a_rejected_declaration_until_released(server: str, page: Any) -> None:
    cop_no = _rejected_parcel(server)
    _log_in(page, server, api_key(Role.broker, warehouse_codes=("HZ",)))
    page.select_option("select[name=state]", "rejected")
    page.click("#filters button[type=submit]")
    page.click(f"text={cop_no}")
    assert "订购人身份证件号码校验不通过" in page.inner_text("#reason")
    finding = page.inner_text("#preflight")
    assert "buyerIdNumber" in finding and "check digit should be" in finding
    digit = finding.split("check digit should be ", 1)[1][0]
    typed = page.input_value("#f-buyer_id_number")
    page.fill("#f-buyer_id_number", typed[:17] + digit)
    page.click("#save")
    page.wait_for_selector("#result:has-text('saved')")
    page.click("#resubmit")
    page.wait_for_selector("#state.released", timeout=60_000)
    timeline = page.inner_text("#timeline")
    assert "order.corrected" in timeline and "clearance.released" in timeline
    assert "appType 2" in page.inner_text("details")
    assert case_state(cop_no) == "released"


def test_exception_view_shows_the_rejection_with_time_in_status(server: str, page: Any) -> None:
    cop_no = _rejected_parcel(server)
    _log_in(page, server, api_key(Role.admin))
    page.goto(f"{server}/broker/exceptions")
    section = page.inner_text("#ex-rejected")
    assert cop_no in section and "订购人身份证件号码校验不通过" in section
    waited = page.inner_text(f"#ex-rejected tr:has-text('{cop_no}') td.num")
    assert re.fullmatch(r"\d+ (s|min)", waited), waited
