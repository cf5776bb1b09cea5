"""Every scan outcome, as the station sees it, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from kit.auth import Role
from tests.factories import api_key, auth
from tests.warehouses.conftest import Floor, count, events, parcel_state, set_customs_state
from warehouses.models import FloorException, Scan


def test_matched_by_tracking_number_emits_parcel_matched(floor: Floor) -> None:
    order = floor.order(1)
    result = floor.scan(order["tracking_no"])
    assert (result["outcome"], result["order_no"]) == ("matched", order["order_no"])
    assert parcel_state(order["tracking_no"])[0] == "received"
    matched = events("parcel.matched")
    assert [e.source for e in matched] == [f"scan:{result['scan_id']}"]
    assert matched[0].payload["station"] == "in-1"


def test_packing_slip_order_number_matches_too(floor: Floor) -> None:
    order = floor.order(2)
    assert floor.scan(f" {order['order_no']}\t")["outcome"] == "matched"
    assert parcel_state(order["tracking_no"])[0] == "received"


def test_duplicate_says_by_whom_when_and_where(floor: Floor) -> None:
    order = floor.order(3)
    first = floor.scan(order["tracking_no"])
    again = floor.scan(order["waybill_no"])
    assert again["outcome"] == "duplicate"
    assert again["details"]["by"] == "staff:test-staff"
    assert again["details"]["station"] == "in-1"
    assert again["details"]["at"]
    assert again["scan_id"] != first["scan_id"]
    assert len(events("parcel.matched")) == 1


def test_unknown_code_is_logged_and_queued_once(floor: Floor) -> None:
    first = floor.scan("NO-SUCH-PARCEL")
    second = floor.scan("NO-SUCH-PARCEL")
    assert first["outcome"] == second["outcome"] == "unknown"
    assert "NO-SUCH-PARCEL" in first["message"]
    assert count(Scan) == 2
    assert count(FloorException) == 1


def test_wrong_warehouse_names_the_right_one(floor: Floor) -> None:
    order = floor.order(4, "GZ")
    result = floor.scan(order["tracking_no"])
    assert result["outcome"] == "wrong_warehouse"
    assert result["details"]["belongs_to"] == "GZ"
    assert "GZ" in result["message"]
    assert parcel_state(order["tracking_no"])[0] == "expected"
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    assert [(q["reason"], q["code"]) for q in queue] == [("wrong_warehouse", order["tracking_no"])]


def test_weight_beyond_tolerance_either_way(floor: Floor) -> None:
    heavy, light, fine = floor.order(5), floor.order(6), floor.order(7)
    expected = {o["tracking_no"]: _expected_kg(o) for o in (heavy, light, fine)}
    over = floor.scan(heavy["tracking_no"], weight_kg=str(expected[heavy["tracking_no"]] * 2))
    under = floor.scan(light["tracking_no"], weight_kg=str(expected[light["tracking_no"]] / 2))
    ok = floor.scan(fine["tracking_no"], weight_kg=str(expected[fine["tracking_no"]] * 105 / 100))
    assert (over["outcome"], under["outcome"], ok["outcome"]) == (
        "overweight",
        "underweight",
        "matched",
    )
    assert over["details"]["expected_kg"] == f"{expected[heavy['tracking_no']]:.3f}"
    assert parcel_state(heavy["tracking_no"])[0] == "exception"


def test_reweighed_parcel_matches_and_closes_its_exception(floor: Floor) -> None:
    order = floor.order(8)
    kg = _expected_kg(order)
    assert floor.scan(order["tracking_no"], weight_kg=str(kg * 3))["outcome"] == "overweight"
    assert floor.scan(order["tracking_no"], weight_kg=str(kg))["outcome"] == "matched"
    queue = floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json()
    assert queue == []


def test_cancelled_order_is_refused_at_the_scan(floor: Floor) -> None:
    order = floor.order(9)
    cancel = floor.client.post(
        f"/api/v1/orders/{order['order_no']}/cancel", json={}, headers=floor.admin
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert [e.payload["order_no"] for e in events("order.cancelled")] == [order["order_no"]]
    result = floor.scan(order["tracking_no"])
    assert result["outcome"] == "cancelled"
    assert events("parcel.matched") == []


def test_customs_hold_is_refused(floor: Floor) -> None:
    order = floor.order(10)
    set_customs_state(order["tracking_no"], "held")
    result = floor.scan(order["tracking_no"])
    assert result["outcome"] == "customs_hold"
    assert "held" in result["message"]


def test_same_client_scan_id_is_answered_once(floor: Floor) -> None:
    order = floor.order(11)
    first = floor.scan(order["tracking_no"], client_scan_id="abc-1")
    again = floor.scan(order["tracking_no"], client_scan_id="abc-1")
    assert (again["scan_id"], again["outcome"], again["replayed"]) == (
        first["scan_id"],
        "matched",
        True,
    )
    assert count(Scan) == 1


def test_bag_label_matches_every_parcel_in_it(floor: Floor) -> None:
    orders = [floor.order(i) for i in (12, 13, 14)]
    bag = {
        "warehouse": "HZ",
        "label": "BAG-HZ-1",
        "tracking_nos": [o["tracking_no"] for o in orders],
    }
    assert floor.client.post("/api/v1/bags", json=bag, headers=floor.staff).status_code == 201
    floor.scan(orders[0]["tracking_no"])
    result = floor.scan("BAG-HZ-1")
    outcomes = {item["tracking_no"]: item["outcome"] for item in result["items"]}
    assert outcomes == {
        orders[0]["tracking_no"]: "duplicate",
        orders[1]["tracking_no"]: "matched",
        orders[2]["tracking_no"]: "matched",
    }
    assert result["outcome"] == "duplicate"
    assert len(events("parcel.matched")) == 3


def test_bag_with_a_foreign_parcel_is_refused_per_field(floor: Floor) -> None:
    here, there = floor.order(15), floor.order(16, "GZ")
    bag = {
        "warehouse": "HZ",
        "label": "BAG-X",
        "tracking_nos": [here["tracking_no"], there["tracking_no"], "NOPE"],
    }
    response = floor.client.post("/api/v1/bags", json=bag, headers=floor.admin)
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("tracking_nos[1]", "other_warehouse"),
        ("tracking_nos[2]", "unknown_parcel"),
    ]


def test_undo_puts_the_parcel_back_so_a_rescan_matches(floor: Floor) -> None:
    order = floor.order(17)
    floor.scan(order["tracking_no"])
    undo = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert undo.status_code == 200 and undo.json()["undone_at"]
    assert undo.json()["parcels_put_back"] == 1
    assert parcel_state(order["tracking_no"])[0] == "expected"
    assert len(events("parcel.scan_undone")) == 1
    assert floor.scan(order["tracking_no"])["outcome"] == "matched"
    log = floor.client.get(
        "/api/v1/scans", params={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    ).json()
    assert [(row["outcome"], bool(row["undone_at"])) for row in log] == [
        ("matched", False),
        ("matched", True),
    ]


def test_undo_is_refused_once_the_parcel_is_declared(floor: Floor) -> None:
    order = floor.order(18)
    floor.scan(order["tracking_no"])
    set_customs_state(order["tracking_no"], "submitted")
    undo = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert undo.status_code == 409
    assert undo.json()["code"] == "already_declared"
    assert parcel_state(order["tracking_no"]) == ("received", "submitted")
    assert events("parcel.scan_undone") == []


def test_undo_of_an_unknown_withdraws_its_exception(floor: Floor) -> None:
    floor.scan("STRAY-1")
    floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert floor.client.get("/api/v1/warehouses/HZ/exceptions", headers=floor.staff).json() == []
    nothing = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert nothing.status_code == 404 and nothing.json()["code"] == "nothing_to_undo"


def test_staff_act_only_at_their_own_warehouse(floor: Floor) -> None:
    order = floor.order(18, "GZ")
    body = {"warehouse": "GZ", "station": "in-1", "code": order["tracking_no"]}
    response = floor.client.post("/api/v1/scans", json=body, headers=floor.staff)
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_warehouse_for_key"
    assert parcel_state(order["tracking_no"])[0] == "expected"
    merchant = auth(api_key(Role.merchant, merchant_id=1))
    assert floor.client.post("/api/v1/scans", json=body, headers=merchant).status_code == 403
    for path in ("/api/v1/warehouses/GZ/exceptions", "/api/v1/warehouses/GZ/floor"):
        assert floor.client.get(path, headers=floor.staff).status_code == 403


def _expected_kg(order: dict) -> Decimal:
    weights = {"FORMULA-900G": "1.10", "VITC-120": "0.20", "SERUM-30ML": "0.12", "DIAPER-L": "1.35"}
    return sum(
        (Decimal(weights[ln["sku"]]) * Decimal(str(ln["qty"])) for ln in order["lines"]), Decimal(0)
    )


def test_buffered_scans_upload_in_one_batch_and_again_harmlessly(floor: Floor) -> None:
    order = floor.order(19)
    scans = [
        {
            "warehouse": "HZ",
            "station": "hand-1",
            "code": order["tracking_no"],
            "client_scan_id": "h1",
        },
        {"warehouse": "HZ", "station": "hand-1", "code": order["order_no"], "client_scan_id": "h2"},
        {"warehouse": "HZ", "station": "hand-1", "code": "LOST-1", "client_scan_id": "h3"},
    ]
    first = floor.client.post("/api/v1/scans/batch", json={"scans": scans}, headers=floor.staff)
    assert [r["outcome"] for r in first.json()["results"]] == ["matched", "duplicate", "unknown"]
    again = floor.client.post("/api/v1/scans/batch", json={"scans": scans}, headers=floor.staff)
    assert [r["replayed"] for r in again.json()["results"]] == [True, True, True]
    assert count(Scan) == 3 and len(events("parcel.matched")) == 1


def test_a_batch_with_a_foreign_warehouse_is_refused_whole(floor: Floor) -> None:
    here = floor.order(20)
    scans = [
        {"warehouse": "HZ", "station": "hand-2", "code": here["tracking_no"]},
        {"warehouse": "GZ", "station": "hand-2", "code": "ANY"},
    ]
    response = floor.client.post("/api/v1/scans/batch", json={"scans": scans}, headers=floor.staff)
    assert response.status_code == 403
    assert count(Scan) == 0 and parcel_state(here["tracking_no"])[0] == "expected"


def test_undoing_a_bag_scan_puts_all_its_parcels_back(floor: Floor) -> None:
    orders = [floor.order(i) for i in (21, 22)]
    bag = {"warehouse": "HZ", "label": "BAG-U", "tracking_nos": [o["tracking_no"] for o in orders]}
    floor.client.post("/api/v1/bags", json=bag, headers=floor.staff)
    assert floor.scan("BAG-U")["outcome"] == "matched"
    undo = floor.client.post(
        "/api/v1/scans/undo", json={"warehouse": "HZ", "station": "in-1"}, headers=floor.staff
    )
    assert undo.status_code == 200 and undo.json()["parcels_put_back"] == 2
    assert {parcel_state(o["tracking_no"])[0] for o in orders} == {"expected"}
    assert len(events("parcel.scan_undone")) == 2
