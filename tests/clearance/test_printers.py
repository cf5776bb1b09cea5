"""Printers: a resident CJK font per ZPL printer used by its print jobs, editing, removing
(disabled when it has printed), the printers page, and the parcel label preview."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import create_app
from clearance.printing.labeling import label_data
from kit import outbox
from kit.auth import Role
from kit.db import session_scope
from kit.queue import run_burst
from kit.settings import get_settings
from labels import render_zpl
from tests.clearance.test_printing import LoopbackPrinter, printer_server  # noqa: F401
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key, place_order
from warehouses.models import Order, Parcel

PRINTERS = "/api/v1/warehouses/HZ/printers"


def _spool(name: str) -> str:
    """A spool folder inside the data directory, where printer spools must be."""
    return f"spool://{(get_settings().data_dir / 'spool-test' / name).as_posix()}"


def _add(client: TestClient, **changes: Any) -> dict[str, Any]:
    body = {"name": "zebra-1", "kind": "zpl", "url": _spool("never"), **changes}
    response = client.post(PRINTERS, json=body, headers=auth(api_key()))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _put(client: TestClient, printer_id: int, body: dict[str, Any], key: str = "") -> Any:
    return client.put(f"{PRINTERS}/{printer_id}", json=body, headers=auth(key or api_key()))


def _labels(order_nos: list[str]) -> list[Any]:
    with session_scope() as session:
        query = select(Order).where(col(Order.order_no).in_(order_nos))
        orders = sorted(session.exec(query), key=lambda o: order_nos.index(o.order_no))
        return [label_data(session, order) for order in orders]


def _print(client: TestClient, order_nos: list[str], printer: str) -> dict[str, Any]:
    staff = api_key(Role.staff, warehouse_codes=("HZ",))
    body = {"order_nos": order_nos, "printer": printer}
    response = client.post("/api/v1/print-jobs", json=body, headers=auth(staff))
    assert response.status_code == 202, response.text
    run_burst(("labels",))
    return dict(
        client.get(f"/api/v1/print-jobs/{response.json()['id']}", headers=auth(staff)).json()
    )


def test_a_printer_with_a_resident_font_gets_resident_zpl_and_without_one_bitmaps(
    stack: Stack,
    printer_server: LoopbackPrinter,  # noqa: F811
) -> None:
    order_nos = [place_order(i, "HZ")["order_no"] for i in (1, 2)]
    client = TestClient(create_app())
    url = f"tcp://127.0.0.1:{printer_server.port}"
    printer = _add(client, url=url, resident_font="E:SIMSUN.TTF", dpi=300)
    assert printer["resident_font"] == "E:SIMSUN.TTF"
    assert _print(client, order_nos, "zebra-1")["status"] == "sent"
    resident = render_zpl(_labels(order_nos), dpi=300, cjk="resident", resident_font="E:SIMSUN.TTF")
    assert printer_server.jobs == [resident]
    assert b"^A@N," in resident and b"E:SIMSUN.TTF" in resident and b"^GFA" not in resident
    body = {"name": "zebra-1", "kind": "zpl", "url": url, "dpi": 300, "resident_font": None}
    assert _put(client, printer["id"], body).status_code == 200
    assert _print(client, order_nos, "zebra-1")["status"] == "sent"
    assert printer_server.jobs[1] == render_zpl(_labels(order_nos), dpi=300, cjk="bitmap")
    assert b"^GFA" in printer_server.jobs[1] and b"SIMSUN" not in printer_server.jobs[1]


def _error(response: Any) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["errors"][0]["code"])


def test_a_resident_font_is_only_for_zpl_printers_and_must_be_a_printer_font_name(
    stack: Stack,
) -> None:
    client = TestClient(create_app())
    pdf = {"name": "office", "kind": "pdf", "url": "cups://office", "resident_font": "E:A.TTF"}
    assert _error(client.post(PRINTERS, json=pdf, headers=auth(api_key()))) == (
        "not_a_label_printer"
    )
    bad = {"name": "z", "kind": "zpl", "url": "cups://z", "resident_font": "E:X^FS.TTF"}
    assert _error(client.post(PRINTERS, json=bad, headers=auth(api_key()))) == "bad_font_name"


def _printer_topics(printer_id: int) -> list[tuple[str, dict[str, Any]]]:
    with session_scope() as session:
        return [(e.topic, e.payload) for e in outbox.timeline(session, "printer", printer_id)]


def test_admins_edit_printers_and_every_change_is_audited(stack: Stack) -> None:
    client = TestClient(create_app())
    first, second = _add(client), _add(client, name="zebra-2")
    body = {"name": "dock-zebra", "kind": "zpl", "url": "tcp://10.0.0.9:9100", "station": "d2"}
    edited = _put(client, first["id"], body)
    assert edited.status_code == 200, edited.text
    assert edited.json() | body == edited.json()
    assert _error(_put(client, second["id"], body)) == "printer_exists"
    assert _error(_put(client, first["id"], (body | {"url": "ftp://x"}))) == "unsupported_url"
    staff = api_key(Role.staff, warehouse_codes=("HZ",))
    assert _put(client, first["id"], body, staff).status_code == 403
    other_warehouse = f"/api/v1/warehouses/SH/printers/{first['id']}"
    assert client.put(other_warehouse, json=body, headers=auth(api_key())).status_code == 404
    elsewhere = _put(client, 10**6, body)
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "printer_not_found"
    topics = _printer_topics(first["id"])
    assert [t for t, _ in topics] == ["printer.added", "printer.updated"]
    assert topics[1][1]["changed"] == {
        "name": "dock-zebra",
        "station": "d2",
        "url": "tcp://10.0.0.9:9100",
    }


def test_a_printer_never_used_is_deleted_one_that_printed_is_disabled(stack: Stack) -> None:
    order_no = place_order(1, "HZ")["order_no"]
    client = TestClient(create_app())
    unused, used = _add(client), _add(client, name="used", url=_spool("used"))
    assert _print(client, [order_no], "used")["status"] == "sent"
    admin = auth(api_key())
    gone = client.delete(f"{PRINTERS}/{unused['id']}", headers=admin)
    assert gone.json() == {"id": unused["id"], "outcome": "deleted"}
    kept = client.delete(f"{PRINTERS}/{used['id']}", headers=admin)
    assert kept.json() == {"id": used["id"], "outcome": "disabled"}
    listed = {p["name"]: p for p in client.get(PRINTERS, headers=admin).json()}
    assert "zebra-1" not in listed and listed["used"]["disabled_at"]
    staff = api_key(Role.staff, warehouse_codes=("HZ",))
    refused = client.post(
        "/api/v1/print-jobs", json={"order_nos": [order_no], "printer": "used"}, headers=auth(staff)
    )
    assert _error(refused) == "printer_disabled"
    assert [t for t, _ in _printer_topics(used["id"])][-1] == "printer.disabled"
    assert _print(client, [order_no], "spool")["status"] == "sent"
    spool = next(p for p in client.get(PRINTERS, headers=admin).json() if p["name"] == "spool")
    assert _error(client.delete(f"{PRINTERS}/{spool['id']}", headers=admin)) == "default_printer"
    assert client.delete(f"{PRINTERS}/{used['id']}", headers=auth(staff)).status_code == 403


def _login(client: TestClient, key: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"csrf_token": token.group(1), "api_key": key})


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_printers_page_adds_edits_and_removes_through_csrf_forms(stack: Stack) -> None:
    client = TestClient(create_app())
    _login(client, api_key())
    token = _csrf(client.get("/printers/HZ").text)
    form = {"csrf_token": token, "name": "zebra-9", "kind": "zpl", "url": "cups://z9"}
    assert client.post("/printers/HZ/add", data=form | {"csrf_token": "forged"}).status_code == 403
    added = client.post("/printers/HZ/add", data=form | {"resident_font": "E:MSUNG.TTF"})
    assert added.status_code == 200 and 'value="E:MSUNG.TTF"' in added.text
    printer_id = int(re.findall(r"/printers/HZ/(\d+)/edit", added.text)[0])
    edited = client.post(f"/printers/HZ/{printer_id}/edit", data=form | {"dpi": "300"})
    assert edited.status_code == 200 and 'value="300"' in edited.text and "MSUNG" not in edited.text
    bad = client.post(f"/printers/HZ/{printer_id}/edit", data=form | {"resident_font": "nope"})
    assert bad.status_code == 400 and "bad_font_name" in bad.text
    removed = client.post(f"/printers/HZ/{printer_id}/delete", data={"csrf_token": token})
    assert removed.status_code == 200 and "zebra-9" not in removed.text


def test_staff_see_the_printers_page_without_forms(stack: Stack) -> None:
    client = TestClient(create_app())
    _add(client, resident_font="E:SIMSUN.TTF")
    _login(client, api_key(Role.staff, warehouse_codes=("HZ",)))
    page = client.get("/printers/HZ")
    assert page.status_code == 200 and "E:SIMSUN.TTF" in page.text and "/edit" not in page.text
    assert client.get("/printers/SH").status_code == 403
    token = _csrf(page.text)
    form = {"csrf_token": token, "name": "x", "kind": "zpl", "url": "cups://x"}
    assert client.post("/printers/HZ/add", data=form).status_code == 403


def _parcel_id(order_no: str) -> int:
    with session_scope() as session:
        order = session.exec(select(Order).where(col(Order.order_no) == order_no)).one()
        parcel = session.exec(select(Parcel).where(col(Parcel.order_id) == order.id)).one()
        assert parcel.id is not None
        return parcel.id


def test_a_parcel_label_preview_is_shown_only_to_who_may_see_the_parcel(stack: Stack) -> None:
    parcel = _parcel_id(place_order(1, "HZ", merchant=MERCHANT_A)["order_no"])
    client = TestClient(create_app())
    keys = {
        "staff-HZ": api_key(Role.staff, warehouse_codes=("HZ",)),
        "broker-HZ": api_key(Role.broker, warehouse_codes=("HZ",)),
        "merchant-A": merchant_key(MERCHANT_A),
        "admin": api_key(),
        "staff-SH": api_key(Role.staff, warehouse_codes=("SH",)),
        "broker-SH": api_key(Role.broker, warehouse_codes=("SH",)),
        "merchant-B": merchant_key(MERCHANT_B),
    }
    for name, key in keys.items():
        response = client.get(f"/api/v1/parcels/{parcel}/label.png?fmt=zpl", headers=auth(key))
        if name.endswith("SH") or name == "merchant-B":
            assert response.status_code == 404 and response.json()["code"] == "parcel_not_found"
        else:
            assert response.status_code == 200, (name, response.text)
            assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    missing = client.get(f"/api/v1/parcels/{parcel + 1000}/label.png", headers=auth(api_key()))
    assert missing.status_code == 404
