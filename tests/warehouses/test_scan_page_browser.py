"""The scan station in headless Chromium: what a person sees for each outcome, focus kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kit.auth import Role
from tests.browser import chromium_page, live_server, wait_until
from tests.conftest import Stack
from tests.factories import api_key
from tests.identities import place_order

pytestmark = pytest.mark.browser


@pytest.fixture
def server(embedded: Stack) -> Iterator[str]:
    with live_server() as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with chromium_page(1280, 900) as tab:
        script_errors: list[str] = []
        tab.on("pageerror", lambda error: script_errors.append(str(error)))
        yield tab
    assert script_errors == []


def _log_in(page, server: str) -> None:
    page.goto(f"{server}/floor/HZ/scan")
    assert "/login" in page.url
    page.fill("input[name=api_key]", api_key(Role.staff, warehouse_codes=("HZ",)))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/floor/HZ/scan")
    page.wait_for_selector("#code:focus")


def _scan(page, code: str) -> None:
    before = page.locator("#recent tbody tr").count()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    wait_until(page, f"document.querySelectorAll('#recent tbody tr').length > {before}")


def _seen(page) -> tuple[str, str, str]:
    return (
        page.inner_text("#outcome"),
        page.get_attribute("#verdict", "class") or "",
        page.inner_text("#message"),
    )


def _focused(page) -> bool:
    return page.evaluate("document.activeElement && document.activeElement.id === 'code'")


def test_station_shows_each_outcome_and_keeps_focus(page, server: str) -> None:
    here, there = place_order(1, "HZ"), place_order(2, "GZ")
    _log_in(page, server)

    _scan(page, here["tracking_no"])
    outcome, css, message = _seen(page)
    assert (outcome, css) == ("MATCHED", "matched") and here["order_no"] in message
    assert page.inner_text("#session-count") == "1" and _focused(page)

    _scan(page, here["tracking_no"])
    outcome, css, message = _seen(page)
    assert (outcome, css) == ("DUPLICATE", "duplicate")
    assert "Already scanned by staff:test-staff at station-1" in message and _focused(page)

    _scan(page, "NOBODY-EXPECTS-THIS")
    outcome, css, message = _seen(page)
    assert outcome == "UNKNOWN PARCEL" and "unknown" in css and "locked" in css
    assert page.is_visible("#ack") and _focused(page)
    page.screenshot(path="/tmp/scan-station-unknown.png")

    rows = page.locator("#recent tbody tr").count()
    page.keyboard.type(there["tracking_no"])
    page.keyboard.press("Enter")  # the scanner's next Enter must not dismiss the error
    page.wait_for_timeout(300)
    assert page.locator("#recent tbody tr").count() == rows
    assert page.inner_text("#outcome") == "UNKNOWN PARCEL" and _focused(page)

    page.keyboard.press("Escape")
    assert page.inner_text("#outcome") == "READY" and _focused(page)
    _scan(page, there["tracking_no"])
    outcome, css, message = _seen(page)
    assert (outcome, css.split()[0]) == ("WRONG WAREHOUSE", "wrong_warehouse")
    assert "GZ" in message and _focused(page)
    page.screenshot(path="/tmp/scan-station-wrong-warehouse.png")
    page.keyboard.press("Escape")

    page.click("#recent button.undo")
    page.wait_for_selector("#recent tbody tr.undone")
    assert _focused(page)
    page.click("a#exceptions-link")
    page.wait_for_selector("#rows td.reason")
    assert page.inner_text("#rows").count("unknown") == 1


def test_gate_station_refuses_what_customs_has_not_released(page, server: str) -> None:
    order = place_order(3, "HZ")
    _log_in(page, server)
    _scan(page, order["tracking_no"])
    page.goto(f"{server}/floor/HZ/gate")
    page.wait_for_selector("#code:focus")
    _scan(page, order["tracking_no"])
    outcome, css, message = _seen(page)
    assert outcome.startswith("NOT RELEASED") and "not_released" in css
    assert "NOT RELEASED" in message and _focused(page)
    page.screenshot(path="/tmp/gate-station-not-released.png")
