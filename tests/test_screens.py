"""Every page the app serves, in headless Chromium at 1280×800 and at a handheld's 480×800,
with demo data: a screenshot of each, and what must hold at both sizes — no sideways
scrolling, the page's primary control reachable by keyboard, no button text clipped, no
console errors. `CLEARWAY_SCREENS=docs/screens` (`make screens`) keeps the screenshots there;
otherwise they go to a temporary folder."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, live_server, wait_until
from tests.conftest import make_stack
from tests.screens_demo import Demo, build_demo

pytestmark = pytest.mark.browser
SIZES = ((1280, 800), (480, 800))
MAX_TABS = 40
# Buttons and button-like links whose text must fit; those inside a table that scrolls
# sideways on its own may lie beyond the viewport's edge.
CLIPPED = """() => [...document.querySelectorAll(
    "button, input[type=submit], input[type=button], select, .actions a, nav a")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => {
    const box = el.getBoundingClientRect(), scrolls = el.closest("table");
    const cut = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    return cut || (!scrolls && (box.left < 0 || box.right > window.innerWidth + 1));
  })
  .map((el) => el.outerHTML.slice(0, 120))"""
AUTO_REFRESH = re.compile(r'<meta http-equiv="refresh"[^>]*>')
SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


@dataclass(frozen=True)
class Screen:
    """One page: where it is, who opens it, and the control a person reaches for first."""

    name: str
    path: str
    role: str
    primary: str
    focused_on_load: bool = False
    then: Callable[[Any, Demo, int], None] | None = None


def _scan_a_parcel(page: Any, demo: Demo, width: int) -> None:
    """Scan an expected parcel: the verdict and its label preview show, the input keeps focus."""
    order = demo.unscanned[SIZES.index((width, 800))]
    page.keyboard.type(order["tracking_no"])
    page.keyboard.press("Enter")
    wait_until(
        page,
        "(() => { const i = document.getElementById('label-preview');"
        " return i && i.complete && i.naturalWidth > 300; })()",
    )


def _scan_what_customs_holds(page: Any, demo: Demo, width: int) -> None:
    """At the gate, the parcel customs rejected: the locked verdict waits for Esc or OK."""
    page.keyboard.type(demo.rejected_tracking_no)
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict.not_released #ack-button")


SCREENS = (
    Screen("login", "/login", "", "input[name=username]"),
    Screen("overview", "/", "", "header a[href='/login']"),
    Screen("scan-station", "/floor/HZ/scan", "staff", "#code", focused_on_load=True),
    Screen(
        "scan-station-label",
        "/floor/HZ/scan/dock-2",
        "staff",
        "#code",
        focused_on_load=True,
        then=_scan_a_parcel,
    ),
    Screen("gate", "/floor/HZ/gate", "staff", "#code", focused_on_load=True),
    Screen(
        "gate-not-released",
        "/floor/HZ/gate/gate-2",
        "staff",
        "#code",
        focused_on_load=True,
        then=_scan_what_customs_holds,
    ),
    Screen("warehouse", "/floor/HZ", "staff", ".actions a[href='/floor/HZ/scan']"),
    Screen("warehouse-exceptions", "/floor/HZ/exceptions", "staff", "#rows button"),
    Screen("printers", "/printers/HZ", "admin", "#add-printer input[name=name]"),
    Screen("broker", "/broker", "broker", "#filters input[name=q]"),
    Screen("broker-declaration", "/broker/declarations/{rejected}", "broker", "#f-buyer_id_number"),
    Screen("broker-exceptions", "/broker/exceptions", "broker", "#ex-rejected a"),
    Screen("dashboard", "/dashboard", "admin", "form[action='/logout'] button"),
    Screen("track", "/track", "merchant", "input[name=order_no]"),
    Screen("track-shipment", "/track/{released}", "merchant", "a[href$='label.pdf']"),
    Screen("webhooks", "/webhooks", "merchant", "button"),
)


@pytest.fixture(scope="module")
def demo_site(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[tuple[str, Demo]]:
    """The demo built once with the worker and customs simulator, then served without them."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        stack = make_stack(
            request, monkeypatch, tmp_path_factory.mktemp("screens"), "sqlite", redis=False
        )
        next(stack)
        with live_server(background=True) as server:
            demo = build_demo(server)
        with live_server() as server:
            yield server, demo
        next(stack, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def screens_dir(tmp_path_factory: Any) -> Path:
    wanted = os.environ.get("CLEARWAY_SCREENS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _without_auto_refresh(route: Any) -> None:
    """Serve the page without its meta refresh, so a reload cannot land between the checks."""
    response = route.fetch()
    route.fulfill(response=response, body=AUTO_REFRESH.sub("", response.text()))


def _open(browser: Any, server: str, demo: Demo, screen: Screen, width: int) -> Any:
    """A fresh tab of `width`×800 on the screen's page, logged in as its role."""
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    path = screen.path.format(rejected=demo.rejected, released=demo.released)
    if screen.role:
        page.goto(f"{server}/login?next={path}")
        page.fill("input[name=api_key]", demo.keys[screen.role])
        page.click("button[type=submit]")
    page.route(f"{server}{path}", _without_auto_refresh)
    page.goto(f"{server}{path}")
    assert page.url == f"{server}{path}"
    page.wait_for_load_state("networkidle")
    return page


def _said(message: Any) -> str:
    return f"{message.text} ({message.location.get('url', '')})"


def _listen_for_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(_said(msg)) if msg.type == "error" else None)
    return errors


def _reach_by_keyboard(page: Any, selector: str, focused_on_load: bool) -> None:
    """Tab from the top of the page until the primary control has focus."""
    matches = f"document.activeElement && document.activeElement.matches({selector!r})"
    if focused_on_load:
        assert page.evaluate(matches), f"{selector} has no focus on load"
        return
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(matches):
            break
    assert page.evaluate(matches), f"{selector} not reached in {MAX_TABS} tabs"
    box = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert box["width"] > 0 and 0 <= box["left"] and box["right"] <= page.viewport_size["width"]


@pytest.mark.parametrize("width", [width for width, _ in SIZES])
@pytest.mark.parametrize("screen", SCREENS, ids=[screen.name for screen in SCREENS])
def test_page_fits_and_works_by_keyboard(
    demo_site: tuple[str, Demo], browser: Any, screens_dir: Path, screen: Screen, width: int
) -> None:
    server, demo = demo_site
    page = _open(browser, server, demo, screen, width)
    errors = _listen_for_errors(page)
    page.reload()
    page.wait_for_load_state("networkidle")
    if screen.then:
        screen.then(page, demo, width)
    page.screenshot(path=str(screens_dir / f"{screen.name}-{width}.png"))
    _reach_by_keyboard(page, screen.primary, screen.focused_on_load)
    assert page.evaluate(SIDEWAYS) <= 0, "the page scrolls sideways"
    assert page.evaluate(CLIPPED) == []
    assert errors == []
    page.context.close()
