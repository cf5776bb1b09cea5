"""The floor pages: behind a login, for staff of that warehouse only, with counts per reason."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app import create_app
from kit.auth import Role
from tests.factories import api_key
from tests.warehouses.conftest import Floor


def _logged_in(key: str) -> TestClient:
    client = TestClient(create_app())
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "api_key": key}, follow_redirects=False
    )
    assert response.status_code == 303
    return client


def test_warehouse_page_counts_open_exceptions_by_reason(floor: Floor) -> None:
    floor.scan("STRAY-A")
    floor.scan("STRAY-B")
    floor.scan(floor.order(1, "GZ")["tracking_no"])
    page = _logged_in(api_key(Role.staff, warehouse_codes=("HZ",))).get("/floor/HZ")
    assert page.status_code == 200
    counts = dict(re.findall(r'data-reason="(\w+)">[\w ]+<b>(\d+)</b>', page.text))
    assert counts == {
        "unknown": "2",
        "ambiguous": "0",
        "wrong_warehouse": "1",
        "overweight": "0",
        "underweight": "0",
        "cancelled": "0",
    }


def test_warehouse_page_links_every_page_of_its_floor(floor: Floor) -> None:
    staff = _logged_in(api_key(Role.staff, warehouse_codes=("HZ",)))
    links = re.findall(r'<a href="(/(?:floor|printers)/HZ[^"]*)"', staff.get("/floor/HZ").text)
    assert links == ["/floor/HZ/scan", "/floor/HZ/gate", "/floor/HZ/exceptions", "/printers/HZ"]
    assert all(staff.get(link).status_code == 200 for link in links)


def test_floor_pages_need_a_login_and_the_right_warehouse(floor: Floor) -> None:
    anonymous = TestClient(create_app()).get("/floor/HZ/scan", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    elsewhere = _logged_in(api_key(Role.staff, warehouse_codes=("SH",)))
    for path in ("/floor/HZ", "/floor/HZ/scan", "/floor/HZ/gate", "/floor/HZ/exceptions"):
        assert elsewhere.get(path).status_code == 403
    staff = _logged_in(api_key(Role.staff, warehouse_codes=("HZ",)))
    station = staff.get("/floor/HZ/gate")
    assert station.status_code == 200
    assert 'data-mode="gate_out"' in station.text and 'name="csrf-token"' in station.text
    named = staff.get("/floor/HZ/scan/dock-2")
    assert 'data-station="dock-2"' in named.text and 'data-mode="inbound"' in named.text
    assert staff.get("/floor/HZ/scan/no spaces").status_code == 422
