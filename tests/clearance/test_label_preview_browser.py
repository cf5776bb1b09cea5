"""Label previews in headless Chromium: the scan station shows the label of the parcel just
matched (the input keeps focus), and the broker's declaration page shows its order's label."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kit.auth import Role
from tests.browser import chromium_page, live_server, wait_until
from tests.clearance.test_broker_browser import _rejected_parcel
from tests.conftest import Stack
from tests.factories import api_key
from tests.identities import place_order

pytestmark = pytest.mark.browser
LOADED = "(() => { const i = document.getElementById('label-preview');"
LOADED += " return i && i.complete && i.naturalWidth > 300; })()"


@contextmanager
def _browsing(*, background: bool = False) -> Iterator[tuple[str, Any]]:
    """The app served and a tab on it; the tab closes before the server stops."""
    with live_server(background=background) as server, chromium_page(1280, 900) as tab:
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        yield server, tab
        assert errors == []


def _log_in(page: Any, server: str, path: str, key: str) -> None:
    page.goto(f"{server}{path}")
    page.fill("input[name=api_key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{path}")


def _scan(page: Any, code: str) -> None:
    before = page.locator("#recent tbody tr").count()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    wait_until(page, f"document.querySelectorAll('#recent tbody tr').length > {before}")


def test_the_scan_station_shows_the_label_of_a_matched_parcel(embedded: Stack) -> None:
    order = place_order(1, "HZ")
    with _browsing() as (server, page):
        _log_in(page, server, "/floor/HZ/scan", api_key(Role.staff, warehouse_codes=("HZ",)))
        page.wait_for_selector("#code:focus")
        assert page.is_hidden("#label-figure")
        _scan(page, order["tracking_no"])
        wait_until(page, LOADED)
        assert page.is_visible("#label-figure")
        assert page.evaluate("document.activeElement.id") == "code"
        page.locator("#label-preview").screenshot(path="/tmp/scan-station-label.png")
        _scan(page, "NOBODY-EXPECTS-THIS")
        assert page.is_hidden("#label-figure")
        assert page.get_attribute("#label-preview", "src") is None


def test_the_broker_declaration_page_shows_the_orders_label(embedded: Stack) -> None:
    with _browsing(background=True) as (server, page):
        cop_no = _rejected_parcel(server)
        broker = api_key(Role.broker, warehouse_codes=("HZ",))
        _log_in(page, server, f"/broker/declarations/{cop_no}", broker)
        wait_until(page, LOADED)
        assert "ZPL" in page.inner_text("#label figcaption")
