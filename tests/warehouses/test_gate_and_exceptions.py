"""Gate-out lets only customs-released parcels leave; the exception queue holds the rest."""

from __future__ import annotations

from kit.auth import Role
from tests.factories import api_key, auth
from tests.warehouses.conftest import Floor, events, parcel_state, set_customs_state

UNDO = {"warehouse": "HZ", "station": "in-1"}


def _gate(floor: Floor, code: str) -> dict:
    return floor.scan(code, mode="gate_out", station="gate-1")


def test_gate_refuses_a_parcel_customs_has_not_released(floor: Floor) -> None:
    order = floor.order(1)
    floor.scan(order["tracking_no"])
    for state in ("declared", "accepted", "cleared", "held"):
        set_customs_state(order["tracking_no"], state)
        result = _gate(floor, order["tracking_no"])
        assert result["outcome"] == "not_released"
        assert result["details"]["customs_state"] == state
        assert "NOT RELEASED" in result["message"]
    assert parcel_state(order["tracking_no"])[0] == "received"
    assert events("parcel.shipped") == []


def test_released_parcel_leaves_once_and_says_so(floor: Floor) -> None:
    order = floor.order(2)
    floor.scan(order["tracking_no"])
    set_customs_state(order["tracking_no"], "released")
    out = _gate(floor, order["waybill_no"])
    assert out["outcome"] == "shipped"
    assert parcel_state(order["tracking_no"])[0] == "shipped"
    shipped = events("parcel.shipped")
    assert [e.source for e in shipped] == [f"scan:{out['scan_id']}"]
    again = _gate(floor, order["tracking_no"])
    assert again["outcome"] == "duplicate" and again["details"]["station"] == "gate-1"
    assert len(events("parcel.shipped")) == 1


def test_gate_out_cannot_be_undone(floor: Floor) -> None:
    order = floor.order(3)
    floor.scan(order["tracking_no"])
    set_customs_state(order["tracking_no"], "released")
    _gate(floor, order["tracking_no"])
    undo = floor.client.post(
        "/api/v1/scans/undo", json={**UNDO, "station": "gate-1"}, headers=floor.staff
    )
    assert undo.status_code == 409 and undo.json()["code"] == "parcel_left"
    assert parcel_state(order["tracking_no"])[0] == "shipped"


def test_gate_refuses_cancelled_unknown_and_foreign_parcels(floor: Floor) -> None:
    cancelled, foreign = floor.order(4), floor.order(5, "GZ")
    floor.client.post(
        f"/api/v1/orders/{cancelled['order_no']}/cancel", json={}, headers=floor.admin
    )
    set_customs_state(cancelled["tracking_no"], "released")
    assert _gate(floor, cancelled["tracking_no"])["outcome"] == "cancelled"
    assert _gate(floor, foreign["tracking_no"])["outcome"] == "wrong_warehouse"
    assert _gate(floor, "NOTHING")["outcome"] == "unknown"
    assert floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json() == []


def test_cancelling_a_shipped_order_is_refused(floor: Floor) -> None:
    order = floor.order(6)
    floor.scan(order["tracking_no"])
    set_customs_state(order["tracking_no"], "released")
    _gate(floor, order["tracking_no"])
    response = floor.client.post(
        f"/api/v1/orders/{order['order_no']}/cancel", json={}, headers=floor.admin
    )
    assert response.status_code == 409 and response.json()["code"] == "order_shipped"


def test_unknown_parcel_attached_to_its_order_is_taken_in(floor: Floor) -> None:
    order = floor.order(7)
    floor.scan("RELABELLED-77")
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    assert [(q["reason"], q["scanned_by"], q["station"]) for q in queue] == [
        ("unknown", "staff:test-staff", "in-1")
    ]
    action = {"action": "attach", "order_no": order["order_no"], "note": "label torn"}
    response = floor.client.post(
        f"/api/v1/exceptions/{queue[0]['id']}/actions", json=action, headers=floor.staff
    )
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["order_no"]) == (
        "attached",
        order["order_no"],
    )
    assert parcel_state(order["tracking_no"])[0] == "received"
    assert [e.source for e in events("parcel.matched")] == [f"exception:{queue[0]['id']}"]
    audit = events("floor.exception_attached")
    assert audit[0].actor == "staff:test-staff" and audit[0].payload["note"] == "label torn"
    again = floor.client.post(
        f"/api/v1/exceptions/{queue[0]['id']}/actions", json=action, headers=floor.staff
    )
    assert again.status_code == 409


def test_return_and_dispose_close_the_exception_and_are_audited(floor: Floor) -> None:
    order = floor.order(8)
    floor.client.post(f"/api/v1/orders/{order['order_no']}/cancel", json={}, headers=floor.admin)
    floor.scan(order["tracking_no"])
    floor.scan("JUNK-1")
    summary = floor.client.get("/api/v1/warehouses/HZ/floor", headers=floor.staff).json()
    assert summary["open_exceptions"] == {"cancelled": 1, "unknown": 1}
    queue = {
        q["reason"]: q["id"]
        for q in floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    }
    for reason, action in (("cancelled", "return"), ("unknown", "dispose")):
        response = floor.client.post(
            f"/api/v1/exceptions/{queue[reason]}/actions",
            json={"action": action},
            headers=floor.staff,
        )
        assert response.status_code == 200
    assert parcel_state(order["tracking_no"])[0] == "returning"
    assert len(events("floor.exception_returning")) == 1
    assert len(events("floor.exception_disposed")) == 1
    summary = floor.client.get("/api/v1/warehouses/HZ/floor", headers=floor.staff).json()
    assert summary["open_exceptions"] == {}
    closed = floor.client.get(
        "/api/v1/warehouses/HZ/exceptions", params={"state": "disposed"}, headers=floor.staff
    ).json()
    assert [c["code"] for c in closed] == ["JUNK-1"]


def test_attach_needs_an_order_of_this_warehouse(floor: Floor) -> None:
    elsewhere = floor.order(9, "GZ")
    floor.scan("STRAY-9")
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    response = floor.client.post(
        f"/api/v1/exceptions/{queue[0]['id']}/actions",
        json={"action": "attach", "order_no": elsewhere["order_no"]},
        headers=floor.staff,
    )
    assert response.status_code == 422 and response.json()["field"] == "order_no"


def test_other_warehouse_staff_cannot_touch_the_queue(floor: Floor) -> None:
    """Another warehouse's exception is answered like one that does not exist (no oracle)."""
    floor.scan("STRAY-10")
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    gz_staff = auth(api_key(Role.staff, warehouse_codes=("GZ",)))
    answers = [
        floor.client.post(
            f"/api/v1/exceptions/{exception_id}/actions",
            json={"action": "dispose"},
            headers=gz_staff,
        )
        for exception_id in (queue[0]["id"], 2_000_000_000)
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (404, "exception_not_found")
    ] * 2
    assert f"no exception {queue[0]['id']}" == answers[0].json()["message"]
    assert (
        len(floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()) == 1
    )


def test_a_parcel_marked_for_return_cannot_leave_through_the_gate(floor: Floor) -> None:
    order = floor.order(11)
    kg = sum(float(line["qty"]) for line in order["lines"]) * 10
    floor.scan(order["tracking_no"], weight_kg=str(kg))
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    floor.client.post(
        f"/api/v1/exceptions/{queue[0]['id']}/actions",
        json={"action": "return"},
        headers=floor.staff,
    )
    set_customs_state(order["tracking_no"], "released")
    result = _gate(floor, order["tracking_no"])
    assert result["outcome"] == "not_released"
    assert result["details"]["floor_state"] == "returning"
    assert events("parcel.shipped") == []
