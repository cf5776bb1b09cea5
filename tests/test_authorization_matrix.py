"""Every route of the app (the OpenAPI document's and the pages') × every role × own id, another
merchant's id, another warehouse's id, a missing id, no key and a revoked key: the answer each
must get is declared once per route in RULES, and a route without a rule fails the test.

Tenants: merchant A at HZ, merchant B at HZ and merchant A at SH. A caller "covers" a tenant
when it is the admin, the tenant's merchant, or staff/broker of the tenant's warehouse; a
covered id gets the route's `own` answer, any other id the `foreign` answer, which must be the
answer for an id that does not exist — never data."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import create_app
from clearance.pipeline.cases import open_case
from kit.auth import Role, create_key, revoke_key
from kit.db import session_scope
from kit.outbox import Event
from kit.settings import get_settings
from kit.web import declared_roles, require
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload
from tests.identities import MERCHANT_A, MERCHANT_B, merchant_key, place_order
from tests.warehouses.test_bulk_intake import _csv
from warehouses.models import FloorException, Order, Parcel

A, B, ANY, MISSING = Role.admin, Role.broker, tuple(Role), "missing"
STAFF, MERCHANT = Role.staff, Role.merchant


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


# ---------------------------------------------------------------------------------------------
# The world: three tenants, each with an order (received, so it has a parcel and a clearance
# case), and per warehouse an exception, a printer and a print job; per merchant a webhook.


@dataclass
class Tenant:
    name: str
    merchant: str
    warehouse: str
    order_no: str = ""
    tracking_no: str = ""
    parcel_id: int = 0
    cop_no: str = ""
    endpoint_id: int = 0
    exception_id: int = 0
    printer_id: int = 0
    spare_printer_id: int = 0
    job_id: int = 0
    event_id: int = 0
    token: str = ""
    markers: list[str] = field(default_factory=list)

    def ids(self) -> dict[str, str]:
        return {
            "order_no": self.order_no,
            "tracking_no": self.tracking_no,
            "parcel_id": str(self.parcel_id),
            "cop_no": self.cop_no,
            "endpoint_id": str(self.endpoint_id),
            "exception_id": str(self.exception_id),
            "printer_id": str(self.printer_id),
            "spare_printer_id": str(self.spare_printer_id),
            "job_id": str(self.job_id),
            "token": self.token,
            "event_id": str(self.event_id),
            "code": self.warehouse,
            "merchant": self.merchant,
            "station": "authz",
        }


NOWHERE = Tenant(MISSING, "no-such-merchant", "ZZ")
NOWHERE_IDS = {
    **NOWHERE.ids(),
    "order_no": "NO-SUCH-ORDER",
    "tracking_no": "NO-SUCH-PARCEL",
    "cop_no": "NOSUCHCOP",
    "token": "0" * 32,
    **dict.fromkeys(("parcel_id", "endpoint_id", "exception_id"), "2147483000"),
    **dict.fromkeys(("printer_id", "spare_printer_id", "job_id", "event_id"), "2147483000"),
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role
    merchant: str | None = None
    warehouse: str | None = None

    def covers(self, tenant: Tenant) -> bool:
        if self.role == Role.admin:
            return True
        if self.role == Role.merchant:
            return tenant.merchant == self.merchant
        return tenant.warehouse == self.warehouse


CALLERS = (
    Caller("admin", Role.admin),
    Caller("merchant-A", Role.merchant, merchant=MERCHANT_A),
    Caller("merchant-B", Role.merchant, merchant=MERCHANT_B),
    Caller("staff-HZ", Role.staff, warehouse="HZ"),
    Caller("staff-SH", Role.staff, warehouse="SH"),
    Caller("broker-HZ", Role.broker, warehouse="HZ"),
    Caller("broker-SH", Role.broker, warehouse="SH"),
)


@dataclass
class World:
    client: TestClient
    tenants: list[Tenant]
    keys: dict[str, str]
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(100))


def _key_of(caller: Caller) -> str:
    if caller.merchant:
        return merchant_key(caller.merchant)
    codes = (caller.warehouse,) if caller.warehouse else ()
    return api_key(caller.role, warehouse_codes=codes)


def _revoked_admin_key() -> str:
    with session_scope() as session:
        key, raw = create_key(session, label="test-revoked", role=Role.admin)
        assert key.id is not None
        revoke_key(session, key.id)
    return raw


def _one(query: Any) -> Any:
    with session_scope() as session:
        return session.exec(query).one()


def _populate(client: TestClient, admin: dict[str, str], tenant: Tenant, index: int) -> None:
    order = place_order(index, tenant.warehouse, merchant=tenant.merchant)
    tenant.order_no, tenant.tracking_no = order["order_no"], order["tracking_no"]
    scan = {"warehouse": tenant.warehouse, "station": "setup", "code": tenant.tracking_no}
    assert client.post("/api/v1/scans", json=scan, headers=admin).json()["outcome"] == "matched"
    with session_scope() as session:
        parcel = session.exec(select(Parcel).join(Order).where(Order.order_no == tenant.order_no))
        case = open_case(session, parcel.one(), tenant.warehouse)
        tenant.parcel_id, tenant.cop_no = case.parcel_id, case.cop_no
        event = select(Event.id).where(
            Event.subject_type == "order", Event.subject_id == case.order_id
        )
        tenant.event_id = session.exec(event.order_by(col(Event.id))).first() or 0
    tenant.markers = [order["waybill_no"], order["tracking_no"], order["consignee"]["phone"]]


def _webhook(client: TestClient, admin: dict[str, str], merchant: str) -> tuple[int, list[str]]:
    body = {"url": f"http://127.0.0.1:9/hook-{merchant}", "merchant": merchant}
    made = client.post(
        "/api/v1/webhooks/endpoints", json={**body, "allow_private": True}, headers=admin
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], [made.json()["secret"], f"hook-{merchant}"]


def _refused_rows_token(client: TestClient, merchant: str) -> str:
    """A CSV import by `merchant` with one refused row: the token of its refused-rows file."""
    bad = {**order_payload(90, merchant=merchant), "lines": [{"sku": "NO-SUCH", "qty": "1"}]}
    files = {"file": ("orders.csv", _csv([bad]), "text/csv")}
    made = client.post("/api/v1/orders/import", files=files, headers=auth(merchant_key(merchant)))
    assert made.status_code == 200, made.text
    return str(made.json()["refused_rows_url"]).rsplit("/", 1)[-1].removesuffix(".csv")


def _spool_url() -> str:
    return f"spool://{(get_settings().data_dir / 'authz-spool').as_posix()}"


def _add_printer(client: TestClient, admin: dict[str, str], warehouse: str, name: str) -> int:
    printer = {"name": name, "kind": "pdf", "url": _spool_url()}
    made = client.post(f"/api/v1/warehouses/{warehouse}/printers", json=printer, headers=admin)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _warehouse_things(client: TestClient, admin: dict[str, str], tenant: Tenant) -> dict[str, int]:
    """An open exception, two printers and a print job at the tenant's warehouse."""
    code = f"STRAY-{tenant.warehouse}"
    stray = {"warehouse": tenant.warehouse, "station": "setup", "code": code}
    assert client.post("/api/v1/scans", json=stray, headers=admin).status_code == 200
    job = client.post("/api/v1/print-jobs", json={"order_nos": [tenant.order_no]}, headers=admin)
    assert job.status_code == 202, job.text
    return {
        "exception_id": _one(select(FloorException.id).where(FloorException.code == code)),
        "printer_id": _add_printer(client, admin, tenant.warehouse, "authz-1"),
        "spare_printer_id": _add_printer(client, admin, tenant.warehouse, "authz-2"),
        "job_id": job.json()["id"],
    }


def build_world() -> World:
    client = TestClient(create_app())
    keys = {caller.name: _key_of(caller) for caller in CALLERS}
    admin = auth(keys["admin"])
    tenants = [
        Tenant("A@HZ", MERCHANT_A, "HZ"),
        Tenant("B@HZ", MERCHANT_B, "HZ"),
        Tenant("A@SH", MERCHANT_A, "SH"),
    ]
    for index, tenant in enumerate(tenants, start=1):
        _populate(client, admin, tenant, index)
    hooks = {m: _webhook(client, admin, m) for m in (MERCHANT_A, MERCHANT_B)}
    tokens = {m: _refused_rows_token(client, m) for m in (MERCHANT_A, MERCHANT_B)}
    per_warehouse = {t.warehouse: _warehouse_things(client, admin, t) for t in tenants[::2]}
    for tenant in tenants:
        tenant.endpoint_id, hook_markers = hooks[tenant.merchant]
        tenant.token = tokens[tenant.merchant]
        tenant.markers += hook_markers
        for name, value in per_warehouse[tenant.warehouse].items():
            setattr(tenant, name, value)
    keys["revoked"] = _revoked_admin_key()
    return World(client, tenants, keys)


@pytest.fixture
def world(embedded: Stack, monkeypatch: pytest.MonkeyPatch) -> World:
    # The overview and /metrics as production serves them (CLEARWAY_PUBLIC_STATUS_PAGES off).
    monkeypatch.setenv("CLEARWAY_PUBLIC_STATUS_PAGES", "false")
    get_settings.cache_clear()
    return build_world()


# ---------------------------------------------------------------------------------------------
# The table: one rule per route. `own` is the answer for a covered id (or a route without
# ids); `foreign` the answer for an uncovered or missing id (None: the route takes no id).

Ids = dict[str, str]
Body = Callable[[Ids, int], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...] | None
    own: tuple[int, ...]
    foreign: int | tuple[int, ...] | None = None
    json: Body | None = None
    form: Body | None = None
    query: str = ""
    alias: dict[str, str] = field(default_factory=dict)  # a path id taken from another id


def public(*own: int, form: Body | None = None) -> Rule:
    return Rule(None, own, form=form)


def _scan(ids: Ids, n: int) -> dict[str, Any]:
    code = ids["tracking_no"]
    return {"warehouse": ids["code"], "station": ids["station"], "code": code}


def _order(ids: Ids, n: int) -> dict[str, Any]:
    return order_payload(n, ids["code"], merchant=ids["merchant"])


def _printer(ids: Ids, n: int) -> dict[str, Any]:
    return {"name": f"authz-{n}", "kind": "pdf", "url": _spool_url()}


def _hook(ids: Ids, n: int) -> dict[str, Any]:
    """Only an admin may point a hook at loopback; a merchant's gets a public address literal
    (no name to resolve; nothing is delivered: no worker runs in this test)."""
    if ids["caller"] == Role.admin:
        return {
            "url": f"http://127.0.0.1:9/hook-{n}",
            "merchant": ids["merchant"],
            "allow_private": True,
        }
    return {"url": f"https://1.1.1.1/hook-{n}", "merchant": ids["merchant"]}


def _fixed(body: dict[str, Any]) -> Body:
    return lambda _ids, _n: body


V1 = "/api/v1"
FLOOR, SHIP, BROKER, HOOKS = (STAFF, A), ANY, (B, A), (MERCHANT, A)
RULES: dict[tuple[str, str], Rule] = {
    # Public: documentation, login and probes. The overview and /metrics are an admin's unless
    # CLEARWAY_PUBLIC_STATUS_PAGES (on by default only in the embedded demo).
    ("GET", "/openapi.json"): public(200),
    ("GET", "/docs"): public(200),
    ("GET", "/docs/oauth2-redirect"): public(200),
    ("GET", "/redoc"): public(200),
    ("GET", "/login"): public(200),
    ("POST", "/login"): public(422),
    ("POST", "/language"): public(303, form=_fixed({"language": "en", "next": "/"})),
    ("GET", "/"): Rule((A,), (200,)),
    ("GET", "/metrics"): Rule((A,), (200,)),
    ("GET", "/health"): public(200),
    ("GET", "/ready"): public(200),
    # The floor: scans and undo take the warehouse in the body.
    ("POST", f"{V1}/scans"): Rule(FLOOR, (200,), 403, json=_scan),
    ("POST", f"{V1}/scans/batch"): Rule(
        FLOOR, (200,), 403, json=lambda ids, n: {"scans": [_scan(ids, n)]}
    ),
    ("GET", f"{V1}/scans"): Rule(FLOOR, (200,), 403, query="?warehouse={code}&station={station}"),
    ("POST", f"{V1}/scans/undo"): Rule(
        FLOOR, (200, 404), 403, json=lambda ids, n: {"warehouse": ids["code"], "station": "setup"}
    ),
    # A bag of parcels the merchant may not see is refused as if they did not exist (422);
    # staff are refused another warehouse (403), existing or not.
    ("POST", f"{V1}/bags"): Rule(
        (STAFF, MERCHANT, A),
        (201, 422),
        (403, 422),
        json=lambda ids, n: {
            "warehouse": ids["code"],
            "label": f"BAG-{n}",
            "tracking_nos": [ids["tracking_no"]],
        },
    ),
    ("GET", f"{V1}/warehouses/{{code}}/floor"): Rule(FLOOR, (200,), 403),
    ("GET", f"{V1}/warehouses/{{code}}/exceptions"): Rule(FLOOR, (200,), 403),
    ("POST", f"{V1}/exceptions/{{exception_id}}/actions"): Rule(
        FLOOR, (200, 409), 404, json=_fixed({"action": "dispose"})
    ),
    # Intake: posting as another merchant is refused like posting as no merchant at all.
    ("POST", f"{V1}/orders"): Rule(HOOKS, (201,), 422, json=_order),
    ("POST", f"{V1}/orders/batch"): Rule(
        HOOKS, (200,), 200, json=lambda ids, n: {"orders": [_order(ids, n)]}
    ),
    ("POST", f"{V1}/orders/import"): Rule(HOOKS, (422,)),
    ("GET", f"{V1}/orders/import/refused/{{token}}.csv"): Rule(HOOKS, (200,), 404),
    ("POST", f"{V1}/orders/{{order_no}}/cancel"): Rule(
        HOOKS, (200, 409), 404, json=_fixed({"reason": "authz"})
    ),
    # Shipments and labels.
    ("GET", f"{V1}/shipments"): Rule(SHIP, (200,)),
    ("GET", f"{V1}/shipments/{{order_no}}"): Rule(SHIP, (200,), 404),
    ("GET", f"{V1}/shipments/{{order_no}}/label.pdf"): Rule(SHIP, (200,), 404),
    ("GET", f"{V1}/shipments/{{order_no}}/label.png"): Rule(SHIP, (200,), 404),
    ("GET", f"{V1}/parcels/{{parcel_id}}/label.png"): Rule(SHIP, (200,), 404),
    # Webhooks (the merchant is named in the body when subscribing).
    ("GET", f"{V1}/webhooks/event-types"): Rule(HOOKS, (200,)),
    # A merchant's endpoint is always its own: the body's merchant is ignored for merchants.
    ("POST", f"{V1}/webhooks/endpoints"): Rule(HOOKS, (201,), 201, json=_hook),
    ("GET", f"{V1}/webhooks/endpoints"): Rule(HOOKS, (200,)),
    ("GET", f"{V1}/webhooks/endpoints/{{endpoint_id}}"): Rule(HOOKS, (200,), 404),
    ("PATCH", f"{V1}/webhooks/endpoints/{{endpoint_id}}"): Rule(
        HOOKS, (200,), 404, json=_fixed({"description": "authz"})
    ),
    ("GET", f"{V1}/webhooks/endpoints/{{endpoint_id}}/secret"): Rule(HOOKS, (200,), 404),
    ("POST", f"{V1}/webhooks/endpoints/{{endpoint_id}}/rotate-secret"): Rule(HOOKS, (200,), 404),
    ("POST", f"{V1}/webhooks/endpoints/{{endpoint_id}}/allow-private"): Rule(
        (A,), (200,), 404, json=_fixed({"allow": True})
    ),
    ("GET", f"{V1}/webhooks/endpoints/{{endpoint_id}}/deliveries"): Rule(HOOKS, (200,), 404),
    ("POST", f"{V1}/webhooks/endpoints/{{endpoint_id}}/replay"): Rule(
        HOOKS, (202,), 404, json=lambda ids, n: {"event_id": int(ids["event_id"])}
    ),
    ("GET", f"{V1}/dashboard"): Rule((A, B), (200,)),
    # The broker's workspace.
    ("GET", f"{V1}/broker/declarations"): Rule(BROKER, (200,)),
    ("GET", f"{V1}/broker/declarations/{{cop_no}}"): Rule(BROKER, (200,), 404),
    ("GET", f"{V1}/broker/exceptions"): Rule(BROKER, (200,)),
    ("GET", f"{V1}/broker/receipts/unmatched"): Rule(BROKER, (200,)),
    # No receipt is unmatched in this world: every id is missing (tenancy of real ones:
    # tests/clearance/test_unmatched_receipts.py).
    ("POST", f"{V1}/broker/receipts/{{receipt_id}}/handled"): Rule(
        BROKER, (404,), 404, alias={"receipt_id": "event_id"}
    ),
    ("POST", f"{V1}/broker/declarations/{{cop_no}}/correct"): Rule(
        BROKER, (409,), 404, json=_fixed({"buyer_name": "authz"})
    ),
    ("POST", f"{V1}/broker/declarations/{{cop_no}}/resubmit"): Rule(BROKER, (409,), 404),
    ("POST", f"{V1}/broker/declarations/{{cop_no}}/cancel"): Rule(BROKER, (200, 409), 404),
    ("POST", f"{V1}/broker/declarations/{{cop_no}}/return"): Rule(
        BROKER, (409,), 404, json=_fixed({"reason": "authz"})
    ),
    ("POST", f"{V1}/broker/declarations/{{cop_no}}/retry"): Rule(BROKER, (200, 409), 404),
    ("POST", f"{V1}/broker/submit"): Rule(
        BROKER, (200,), 404, json=lambda ids, n: {"cop_nos": [ids["cop_no"]]}
    ),
    # Printers and print jobs.
    ("GET", f"{V1}/warehouses/{{code}}/printers"): Rule(FLOOR, (200,), 403),
    ("POST", f"{V1}/warehouses/{{code}}/printers"): Rule((A,), (201,), json=_printer),
    ("PUT", f"{V1}/warehouses/{{code}}/printers/{{printer_id}}"): Rule((A,), (200,), json=_printer),
    ("POST", f"{V1}/print-jobs"): Rule(
        FLOOR, (202,), 404, json=lambda ids, n: {"order_nos": [ids["order_no"]]}
    ),
    ("POST", f"{V1}/print-jobs/{{job_id}}/reprint"): Rule(FLOOR, (202,), 404),
    ("GET", f"{V1}/print-jobs/{{job_id}}"): Rule(FLOOR, (200,), 404),
    # Pages (not in the OpenAPI document): a browser without a session goes to /login.
    ("POST", "/logout"): Rule(ANY, (303,)),
    ("GET", "/floor/{code}"): Rule(FLOOR, (200,), 403),
    ("GET", "/floor/{code}/scan"): Rule(FLOOR, (200,), 403),
    ("GET", "/floor/{code}/gate"): Rule(FLOOR, (200,), 403),
    ("GET", "/floor/{code}/scan/{station}"): Rule(FLOOR, (200,), 403),
    ("GET", "/floor/{code}/gate/{station}"): Rule(FLOOR, (200,), 403),
    ("GET", "/floor/{code}/exceptions"): Rule(FLOOR, (200,), 403),
    ("GET", "/track"): Rule(SHIP, (200,)),
    ("GET", "/track/{order_no}"): Rule(SHIP, (200,), 404),
    ("GET", "/dashboard"): Rule((A, B), (200,)),
    ("GET", "/webhooks"): Rule(HOOKS, (200,)),
    ("POST", "/webhooks/{endpoint_id}/replay"): Rule(
        HOOKS, (303,), 404, form=lambda ids, n: {"event_id": ids["event_id"]}
    ),
    ("POST", "/webhooks/{endpoint_id}/enable"): Rule(HOOKS, (303,), 404),
    ("GET", "/broker"): Rule(BROKER, (200,)),
    ("GET", "/broker/exceptions"): Rule(BROKER, (200,)),
    ("GET", "/broker/receipts"): Rule(BROKER, (200,)),
    ("GET", "/broker/declarations/{cop_no}"): Rule(BROKER, (200,), 404),
    ("GET", "/printers/{code}"): Rule(FLOOR, (200,), 403),
    ("POST", "/printers/{code}/add"): Rule((A,), (303,), form=_printer),
    ("POST", "/printers/{code}/{printer_id}/edit"): Rule((A,), (303,), form=_printer),
    ("POST", "/printers/{code}/{printer_id}/delete"): Rule((A,), (303,)),
    ("DELETE", f"{V1}/warehouses/{{code}}/printers/{{printer_id}}"): Rule(
        (A,), (200,), alias={"printer_id": "spare_printer_id"}
    ),
}


def _fill(template: str, ids: Ids) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids[m.group(1)], template)


@dataclass(frozen=True)
class Probe:
    """One request of the matrix and the answer it must get."""

    route: tuple[str, str]
    caller: str
    subject: str
    expected: tuple[int, ...]
    ids: Ids


def _call(world: World, probe: Probe, rule: Rule) -> tuple[str, Any]:
    """The request sent (to tell an echo from a leak) and its answer."""
    method, template = probe.route
    key = world.keys.get(probe.caller)
    n = next(world.serial)
    ids = {**probe.ids, **{name: probe.ids[other] for name, other in rule.alias.items()}}
    path = _fill(template + rule.query, ids)
    body = rule.json(probe.ids, n) if rule.json else None
    form = rule.form(probe.ids, n) if rule.form else None
    headers = auth(key) if key else {}
    answer = world.client.request(
        method, path, headers=headers, json=body, data=form, follow_redirects=False
    )
    return f"{path} {body} {form}", answer


def _foreign(rule: Rule) -> tuple[int, ...]:
    return rule.foreign if isinstance(rule.foreign, tuple) else (rule.foreign or 0,)


SCRAPED = {"/metrics"}  # outside the OpenAPI document, but read by Prometheus, not a browser


def _anonymous_answer(path: str, pages: set[str]) -> int:
    return 303 if path in pages - SCRAPED else 401


def probes(world: World, route: tuple[str, str], rule: Rule, pages: set[str]) -> list[Probe]:
    """Who calls the route with which ids, and what each must be answered."""
    own = world.tenants[0]
    ids = {**own.ids(), "caller": Role.admin}
    if rule.roles is None:
        return [Probe(route, "nobody", own.name, rule.own, ids)]
    found = [
        Probe(route, "nobody", own.name, (_anonymous_answer(route[1], pages),), ids),
        Probe(route, "revoked", own.name, (401,), ids),
    ]
    for caller in CALLERS:
        found += _caller_probes(world, route, rule, caller)
    return found


def _caller_probes(world: World, route: tuple[str, str], rule: Rule, caller: Caller) -> list[Probe]:
    assert rule.roles is not None
    mine = [t for t in world.tenants if caller.covers(t)]
    ids = {**mine[0].ids(), "caller": caller.role}
    if caller.role not in rule.roles:
        return [Probe(route, caller.name, mine[0].name, (403,), ids)]
    if rule.foreign is None:
        return [Probe(route, caller.name, mine[0].name, rule.own, ids)]
    found = [
        Probe(route, caller.name, t.name, rule.own if t in mine else _foreign(rule), ids)
        for t in world.tenants
        for ids in [{**t.ids(), "caller": caller.role}]
    ]
    if caller.role != Role.admin:
        missing = {**NOWHERE_IDS, "caller": caller.role}
        found.append(Probe(route, caller.name, MISSING, _foreign(rule), missing))
    # The uncovered ones first: an own call may change what a later one finds.
    return sorted(found, key=lambda p: p.expected == rule.own)


def _leaks(world: World, caller: str, sent: str, text: str) -> list[str]:
    """Markers of tenants the caller does not cover in the answer (other than ones it sent)."""
    scope = next((c for c in CALLERS if c.name == caller), None)
    if scope is None or scope.role == Role.admin:
        return []
    theirs = {m for t in world.tenants if not scope.covers(t) for m in t.markers}
    mine = {m for t in world.tenants if scope.covers(t) for m in t.markers}
    return sorted(m for m in theirs - mine if m in text and m not in sent)


def _page_paths(app: FastAPI) -> set[str]:
    documented = set(app.openapi()["paths"])
    return {r.path for r in routes_of(app) if r.path not in documented}


def test_every_route_has_exactly_one_rule_and_its_declared_roles() -> None:
    app = create_app()
    served = {(r.method, r.path): r.roles for r in routes_of(app)}
    assert len(served) > 60
    assert sorted(set(served) - set(RULES)) == [], "routes without a rule in RULES"
    assert sorted(set(RULES) - set(served)) == [], "rules for routes the app no longer serves"
    for route, roles in served.items():
        declared = RULES[route].roles
        assert set(roles or ()) == set(declared or ()), (route, roles, declared)


def test_a_route_without_a_rule_is_caught() -> None:
    probe = FastAPI()

    @probe.get("/closed", dependencies=[Depends(require(Role.admin))])
    def closed_route() -> dict[str, str]:
        return {}

    served = {(r.method, r.path) for r in routes_of(probe)}
    assert served - set(RULES) == {("GET", "/closed")}


def test_every_route_every_role_own_foreign_and_missing_ids(world: World) -> None:
    app = create_app()
    pages = _page_paths(app)
    wrong: list[str] = []
    checked = 0
    for route, rule in RULES.items():
        uncovered: dict[str, set[int]] = {}
        for probe in probes(world, route, rule, pages):
            sent, response = _call(world, probe, rule)
            if probe.expected == _foreign(rule) and probe.caller in world.keys:
                uncovered.setdefault(probe.caller, set()).add(response.status_code)
            said = f"{probe.route} {probe.caller}→{probe.subject}: {response.status_code}"
            if response.status_code not in probe.expected:
                wrong.append(f"{said}, expected {probe.expected}: {response.text[:160]}")
            leaked = _leaks(world, probe.caller, sent, response.text)
            if leaked:
                wrong.append(f"{said} leaked {leaked}")
            checked += 1
        wrong += [f"{route} {who}: oracle {s}" for who, s in uncovered.items() if len(s) > 1]
    assert wrong == [], "\n".join(wrong)
    assert checked > 500


# ---------------------------------------------------------------------------------------------
# Replay shortcuts: a second request that reuses another tenant's replay token (Idempotency-Key,
# client_scan_id, an event id) is judged on its own, never answered with the other's result.


def _post(world: World, caller: str, path: str, body: Any, **headers: str) -> Any:
    return world.client.post(path, json=body, headers={**auth(world.keys[caller]), **headers})


def _fresh_order(world: World, merchant: str, warehouse: str) -> dict[str, Any]:
    payload = order_payload(next(world.serial), warehouse, merchant=merchant)
    assert _post(world, "admin", f"{V1}/orders", payload).status_code == 201
    return payload


def _order_key_replay(world: World) -> list[Any]:
    key = {"Idempotency-Key": "authz-order-1"}
    mine = order_payload(next(world.serial), "HZ", merchant=MERCHANT_A)
    first = _post(world, "merchant-A", f"{V1}/orders", mine, **key)
    theirs = order_payload(next(world.serial), "HZ", merchant=MERCHANT_B)
    other = _post(world, "merchant-B", f"{V1}/orders", theirs, **key)
    posing = _post(world, "merchant-B", f"{V1}/orders", mine, **key)
    again = _post(world, "merchant-A", f"{V1}/orders", mine, **key)
    return [
        (first.status_code, other.status_code, posing.status_code, again.status_code),
        other.json().get("order_no") == theirs["order_no"],
        mine["order_no"] in posing.text or mine["waybill_no"] in posing.text,
        again.json().get("id") == first.json().get("id"),
    ]


def _batch_key_replay(world: World) -> list[Any]:
    key = {"Idempotency-Key": "authz-batch-1"}
    mine = {"orders": [order_payload(next(world.serial), "HZ", merchant=MERCHANT_A)]}
    theirs = {"orders": [order_payload(next(world.serial), "HZ", merchant=MERCHANT_B)]}
    first = _post(world, "merchant-A", f"{V1}/orders/batch", mine, **key)
    other = _post(world, "merchant-B", f"{V1}/orders/batch", theirs, **key)
    posing = _post(world, "merchant-B", f"{V1}/orders/batch", mine, **key)
    again = _post(world, "merchant-A", f"{V1}/orders/batch", mine, **key)
    statuses = [r.json()["results"][0]["status"] for r in (first, other, posing, again)]
    return [statuses, mine["orders"][0]["waybill_no"] in posing.text]


def _scans(world: World, path: str, wrap: Callable[[dict[str, Any]], Any]) -> list[Any]:
    """The same station name and client scan id at HZ, then at SH, then at HZ again."""
    answers: list[tuple[str, bool, str, int]] = []
    for caller, warehouse in (("staff-HZ", "HZ"), ("staff-SH", "SH"), ("staff-HZ", "HZ")):
        if caller == "staff-HZ" and answers:
            code = answers[0][2]
        else:
            code = _fresh_order(world, MERCHANT_A, warehouse)["tracking_no"]
        scan = {"warehouse": warehouse, "station": "dock-1", "code": code}
        answer = _post(world, caller, path, wrap({**scan, "client_scan_id": f"c-{path}"}))
        out = answer.json()["results"][0] if "results" in answer.json() else answer.json()
        answers.append((out["outcome"], out["replayed"], code, out["scan_id"]))
    (hz, _, _, hz_id), (sh, sh_replayed, _, sh_id), (_, replayed, _, again_id) = answers
    return [hz, sh, sh_replayed, sh_id != hz_id, replayed, again_id == hz_id]


def _webhook_event_replay(world: World) -> list[Any]:
    a_hz, b_hz = world.tenants[0], world.tenants[1]
    path = f"{V1}/webhooks/endpoints/{{}}/replay"
    theirs = _post(world, "merchant-B", path.format(b_hz.endpoint_id), {"event_id": a_hz.event_id})
    mine = _post(world, "merchant-A", path.format(a_hz.endpoint_id), {"event_id": a_hz.event_id})
    return [theirs.status_code, theirs.json()["code"], mine.status_code, mine.json()]


@dataclass(frozen=True)
class ReplayRule:
    route: tuple[str, str]
    scenario: Callable[[World], list[Any]]
    expected: list[Any]


REPLAYS: dict[str, ReplayRule] = {
    # (A's first 201, B's own order under A's key 201, B posing as A 422, A again 200); B got
    # its own order; B saw nothing of A's; A's retry answers A's first order.
    "Idempotency-Key on an order": ReplayRule(
        ("POST", f"{V1}/orders"), _order_key_replay, [(201, 201, 422, 200), True, False, True]
    ),
    "Idempotency-Key on a batch": ReplayRule(
        ("POST", f"{V1}/orders/batch"),
        _batch_key_replay,
        [["accepted", "accepted", "refused", "replayed"], False],
    ),
    # HZ matched; SH's scan with HZ's station and id is matched on its own (not a replay, a new
    # scan); HZ's retry is HZ's replay.
    "client_scan_id on a scan": ReplayRule(
        ("POST", f"{V1}/scans"),
        lambda w: _scans(w, f"{V1}/scans", lambda s: s),
        ["matched", "matched", False, True, True, True],
    ),
    "client_scan_id in a scan batch": ReplayRule(
        ("POST", f"{V1}/scans/batch"),
        lambda w: _scans(w, f"{V1}/scans/batch", lambda s: {"scans": [s]}),
        ["matched", "matched", False, True, True, True],
    ),
    # B may not replay A's event on B's endpoint; A may, on its own.
    "event id on a webhook replay": ReplayRule(
        ("POST", f"{V1}/webhooks/endpoints/{{endpoint_id}}/replay"),
        _webhook_event_replay,
        [404, "event_not_found", 202, {"deliveries": 1}],
    ),
}


def test_every_replay_route_is_a_route_of_the_table() -> None:
    assert {rule.route for rule in REPLAYS.values()} <= set(RULES)


def test_replay_shortcuts_stay_within_the_tenant(stack: Stack) -> None:
    """On SQLite and PostgreSQL: each replay row of REPLAYS gets its declared answers."""
    world = build_world()
    answers = {name: rule.scenario(world) for name, rule in REPLAYS.items()}
    assert answers == {name: rule.expected for name, rule in REPLAYS.items()}
