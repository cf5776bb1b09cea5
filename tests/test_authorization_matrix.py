"""Every route of the app, tried with every role and with foreign ids: each declares who may
call it, everyone else is refused, and nothing of one merchant reaches another."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import create_app
from kit.auth import Role
from kit.db import session_scope
from kit.settings import get_settings
from kit.web import declared_roles, require
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key, place_order
from warehouses.models import Order, Parcel

PUBLIC = {"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/login"}
# "/" and "/metrics" are public only with CLEARWAY_PUBLIC_STATUS_PAGES (the embedded demo's
# default); the matrix runs them as production serves them: an admin's.
PUBLIC |= {"/ready"}  # "ok" or "down" per service, for the load balancer's readiness probe


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    roles: tuple[Role, ...] | None


def _roles_of(dependant: Any) -> tuple[Role, ...] | None:
    for dependency in getattr(dependant, "dependencies", []):
        found = declared_roles(dependency.call) or _roles_of(dependency)
        if found:
            return found
    return None


def routes_of(app: FastAPI) -> list[Route]:
    """Every (path, method) the app serves, with the roles it declares (None: undeclared)."""
    found = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        for method in sorted(context.methods or {"GET"}):
            if method != "HEAD":
                found.append(Route(context.path or "", method, _roles_of(dependant)))
    return found


def undeclared(app: FastAPI) -> list[Route]:
    return [r for r in routes_of(app) if r.roles is None and r.path not in PUBLIC]


def test_a_route_without_declared_roles_is_caught() -> None:
    probe = FastAPI()

    @probe.get("/open")
    def open_route() -> dict[str, str]:
        return {}

    @probe.get("/closed", dependencies=[Depends(require(Role.admin))])
    def closed_route() -> dict[str, str]:
        return {}

    assert [r.path for r in undeclared(probe)] == ["/open"]


def test_every_route_declares_its_roles() -> None:
    app = create_app()
    assert len(routes_of(app)) > 20
    assert undeclared(app) == []


@dataclass
class World:
    """Merchant A's data at HZ, and credentials for everyone who should not see it."""

    order_no: str
    markers: list[str]
    endpoint_id: int
    keys: dict[str, str]
    parcel_id: int


OWN = ("admin", "merchant-A", "staff-HZ", "broker-HZ")
FOREIGN = ("merchant-B", "staff-SH", "broker-SH")
ROLE_OF = {
    "admin": Role.admin,
    "merchant-A": Role.merchant,
    "merchant-B": Role.merchant,
    "staff-HZ": Role.staff,
    "staff-SH": Role.staff,
    "broker-HZ": Role.broker,
    "broker-SH": Role.broker,
}


@pytest.fixture
def world(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("CLEARWAY_PUBLIC_STATUS_PAGES", "false")
    get_settings.cache_clear()
    order = place_order(1, "HZ", merchant=MERCHANT_A)
    place_order(2, "SH", merchant=MERCHANT_B)
    admin = api_key(Role.admin)
    client = TestClient(create_app())
    endpoint = client.post(
        "/api/v1/webhooks/endpoints",
        json={
            "url": "http://127.0.0.1:9/a-private-hook",
            "merchant": MERCHANT_A,
            "allow_private": True,
        },
        headers=auth(admin),
    ).json()
    keys = {
        "admin": admin,
        "merchant-A": merchant_key(MERCHANT_A),
        "merchant-B": merchant_key(MERCHANT_B),
        "staff-HZ": api_key(Role.staff, warehouse_codes=("HZ",)),
        "staff-SH": api_key(Role.staff, warehouse_codes=("SH",)),
        "broker-HZ": api_key(Role.broker, warehouse_codes=("HZ",)),
        "broker-SH": api_key(Role.broker, warehouse_codes=("SH",)),
    }
    markers = [
        order["waybill_no"],
        order["tracking_no"],
        order["consignee"]["phone"],
        endpoint["secret"],
        "a-private-hook",
    ]
    return World(order["order_no"], markers, endpoint["id"], keys, _parcel_id(order["order_no"]))


def _parcel_id(order_no: str) -> int:
    with session_scope() as session:
        query = select(Parcel.id).join(Order).where(col(Order.order_no) == order_no)
        found = session.exec(query).one()
        assert found is not None
        return found


def _fill(path: str, world: World) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "order_no":
            return world.order_no
        if name == "endpoint_id":
            return str(world.endpoint_id)
        if name == "parcel_id":
            return str(world.parcel_id)
        if name in ("code", "warehouse"):
            return "HZ"
        return "1" if name.endswith("id") else "x"

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def _call(client: TestClient, route: Route, world: World, key: str | None) -> Any:
    headers = auth(key) if key else {}
    body: dict[str, Any] | None = {} if route.method in ("POST", "PUT", "PATCH") else None
    return client.request(
        route.method, _fill(route.path, world), headers=headers, json=body, follow_redirects=False
    )


def _owned_path(route: Route) -> bool:
    return any(f"{{{name}}}" in route.path for name in ("order_no", "endpoint_id", "parcel_id"))


def test_every_route_with_every_role_and_foreign_ids(world: World) -> None:
    client = TestClient(create_app())
    checked = 0
    for route in routes_of(create_app()):
        if route.roles is None:
            continue
        anonymous = _call(client, route, world, None)
        assert anonymous.status_code in (401, 303), (route, anonymous.text)
        for name in (*FOREIGN, *OWN):
            response = _call(client, route, world, world.keys[name])
            allowed = ROLE_OF[name] in route.roles
            context = (route, name, response.status_code, response.text[:300])
            if not allowed:
                assert response.status_code == 403, context
            assert response.status_code < 500, context
            if name in FOREIGN:
                assert not any(m in response.text for m in world.markers), context
                if allowed and route.method == "GET" and _owned_path(route):
                    assert response.status_code == 404, context
            checked += 1
    assert checked > 100


def test_a_merchant_gets_404_for_another_merchants_shipment(world: World) -> None:
    client = TestClient(create_app())
    path = f"/api/v1/shipments/{world.order_no}"
    for name in FOREIGN[:2]:
        response = client.get(path, headers=auth(world.keys[name]))
        assert response.status_code == 404 and response.json()["code"] == "shipment_not_found"
        label = client.get(f"{path}/label.pdf", headers=auth(world.keys[name]))
        assert label.status_code == 404
    owner = client.get(path, headers=auth(world.keys["merchant-A"]))
    assert owner.status_code == 200 and owner.json()["waybill_no"] in world.markers
    assert client.get(path, headers=auth(world.keys["staff-HZ"])).status_code == 200


def test_lists_hold_only_what_is_yours(world: World) -> None:
    client = TestClient(create_app())

    def order_nos(name: str) -> set[str]:
        page = client.get("/api/v1/shipments", headers=auth(world.keys[name])).json()
        return {item["order_no"] for item in page["items"]}

    assert world.order_no in order_nos("merchant-A")
    assert world.order_no in order_nos("broker-HZ")
    assert len(order_nos("admin")) == 2
    for name in FOREIGN:
        assert world.order_no not in order_nos(name) and len(order_nos(name)) == 1
