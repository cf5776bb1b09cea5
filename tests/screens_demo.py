"""Demo data for the screenshots: orders of two merchants in three warehouses, scanned through
the whole pipeline, one rejected by customs, floor exceptions, a printer and a failing webhook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from kit.auth import Role
from tests.browser import free_port
from tests.clearance.broker_flow import wait_until
from tests.clearance.test_broker_browser import _rejected_parcel
from tests.factories import api_key, auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key, place_order

# (warehouse, merchant, scanned at its warehouse); order numbers come from the demo generator.
PLAN = (
    ("HZ", MERCHANT_A, True),
    ("HZ", MERCHANT_A, True),
    ("HZ", MERCHANT_B, True),
    ("HZ", MERCHANT_A, True),
    ("HZ", MERCHANT_B, False),
    ("HZ", MERCHANT_A, False),
    ("GZ", MERCHANT_A, True),
    ("GZ", MERCHANT_B, False),
    ("SH", MERCHANT_A, False),
)


@dataclass
class Demo:
    """What the pages are opened with: keys per role, and the records worth showing."""

    keys: dict[str, str]
    released: str = ""
    rejected: str = ""
    rejected_tracking_no: str = ""
    unscanned: list[dict[str, Any]] = field(default_factory=list)


def _post(server: str, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server}{path}", json=body, headers=auth(key), timeout=10)
    assert response.status_code < 300, response.text
    return dict(response.json())


def _scan(server: str, key: str, warehouse: str, code: str, mode: str = "inbound") -> str:
    body = {"warehouse": warehouse, "station": "dock-1", "code": code, "mode": mode}
    return str(_post(server, "/api/v1/scans", key, body)["outcome"])


def _state(server: str, key: str, order_no: str) -> str:
    response = httpx.get(f"{server}/api/v1/shipments/{order_no}", headers=auth(key), timeout=10)
    return str(response.json()["state"])


def _subscribe(server: str, admin: str) -> None:
    """Merchant A's ERP endpoint on a closed port: its deliveries fail, as a broken one's do."""
    url = f"http://127.0.0.1:{free_port()}/hooks/clearway"
    body = {"url": url, "event_types": ["clearance.*"], "description": "ERP"}
    endpoint = body | {"merchant": MERCHANT_A, "allow_private": True}
    _post(server, "/api/v1/webhooks/endpoints", admin, endpoint)


def _add_printer(server: str, admin: str) -> None:
    body = {"name": "pack-1", "kind": "zpl", "url": "tcp://10.0.0.21:9100", "station": "dock-1"}
    _post(server, "/api/v1/warehouses/HZ/printers", admin, body | {"resident_font": "E:SIMSUN.TTF"})


def _keys() -> dict[str, str]:
    return {
        "admin": api_key(Role.admin),
        "staff": api_key(Role.staff, warehouse_codes=("HZ",)),
        "broker": api_key(Role.broker, warehouse_codes=("HZ",)),
        "merchant": merchant_key(MERCHANT_A),
    }


def _place_orders(demo: Demo, server: str) -> list[dict[str, Any]]:
    scanned = []
    for index, (warehouse, merchant, scan) in enumerate(PLAN, start=20):
        order = place_order(index, warehouse, merchant=merchant)
        if scan:
            assert _scan(server, demo.keys["admin"], warehouse, order["tracking_no"]) == "matched"
            scanned.append(order)
        elif warehouse == "HZ":
            demo.unscanned.append(order)
    return scanned


def _floor_exceptions(server: str, staff: str) -> None:
    """Two parcels staff had to put aside: one nobody expects, one for another warehouse."""
    assert _scan(server, staff, "HZ", "SF1400987765321") == "unknown"
    stray = place_order(40, "GZ", merchant=MERCHANT_B)
    assert _scan(server, staff, "HZ", stray["tracking_no"]) == "wrong_warehouse"


def build_demo(server: str) -> Demo:
    """Run the demo through the live app (worker and customs simulator in the background)."""
    demo = Demo(_keys())
    _subscribe(server, demo.keys["admin"])
    _add_printer(server, demo.keys["admin"])
    scanned = _place_orders(demo, server)
    demo.rejected = _rejected_parcel(server)
    demo.rejected_tracking_no = order_payload(3, "HZ")["tracking_no"]
    _floor_exceptions(server, demo.keys["staff"])
    admin = demo.keys["admin"]
    for order in scanned:
        done = lambda: _state(server, admin, order["order_no"]) == "released"  # noqa: B023, E731
        wait_until(done, f"{order['order_no']} to be released")
    demo.released = scanned[0]["order_no"]
    assert _scan(server, demo.keys["staff"], "HZ", scanned[1]["tracking_no"], "gate_out")
    return demo
