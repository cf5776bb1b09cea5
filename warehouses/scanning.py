"""Inbound scans: match a code read at a station to its parcel and order, and log the outcome."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, or_, select

from kit import outbox
from kit.auth import Principal
from kit.errors import ValidationFailed
from kit.settings import get_settings
from warehouses.models import Order, Parcel, Scan, Warehouse
from warehouses.schemas import ScanIn, ScanOut

HOLD_STATES = {"rejected", "held", "returned", "manual_review", "inspection"}


def _warehouse(session: Session, code: str) -> Warehouse:
    warehouse = session.exec(select(Warehouse).where(Warehouse.code == code)).first()
    if warehouse is None:
        raise ValidationFailed.one("warehouse", "unknown_warehouse", f"no warehouse {code}")
    return warehouse


def find_parcel(session: Session, code: str) -> tuple[Parcel, Order] | None:
    """The parcel a code names: its inbound tracking number, waybill, or its order number."""
    query = (
        select(Parcel, Order)
        .join(Order, col(Order.id) == col(Parcel.order_id))
        .where(or_(Parcel.tracking_no == code, Parcel.waybill_no == code, Order.order_no == code))
    )
    row = session.exec(query).first()
    return (row[0], row[1]) if row else None


def _weight_outcome(parcel: Parcel, weight: Decimal | None) -> str | None:
    if weight is None or parcel.expected_weight_kg <= 0:
        return None
    tolerance = Decimal(str(get_settings().weight_tolerance))
    ratio = weight / parcel.expected_weight_kg
    if ratio > 1 + tolerance:
        return "overweight"
    if ratio < 1 - tolerance:
        return "underweight"
    return None


def _previous_scan(session: Session, parcel_id: int) -> Scan | None:
    query = select(Scan).where(Scan.parcel_id == parcel_id, Scan.outcome == "matched")
    return session.exec(query).first()


def _judge(
    session: Session, wh: Warehouse, found: tuple[Parcel, Order] | None, data: ScanIn
) -> ScanOut:
    if found is None:
        return ScanOut(scan_id=0, outcome="unknown", message=f"No order for {data.code}")
    parcel, order = found
    out = ScanOut(
        scan_id=0, outcome="matched", message="", order_no=order.order_no, parcel_id=parcel.id
    )
    if parcel.warehouse_id != wh.id:
        home = session.get(Warehouse, parcel.warehouse_id)
        where = home.code if home else "?"
        return out.model_copy(
            update={
                "outcome": "wrong_warehouse",
                "message": f"Belongs to warehouse {where}",
                "details": {"belongs_to": where},
            }
        )
    return _judge_state(session, parcel, order, data, out)


def _judge_state(
    session: Session, parcel: Parcel, order: Order, data: ScanIn, out: ScanOut
) -> ScanOut:
    if order.status == "cancelled":
        return out.model_copy(update={"outcome": "cancelled", "message": "Order was cancelled"})
    if parcel.customs_state in HOLD_STATES:
        return out.model_copy(
            update={"outcome": "customs_hold", "message": f"Customs: {parcel.customs_state}"}
        )
    assert parcel.id is not None
    previous = _previous_scan(session, parcel.id)
    if previous is not None:
        return out.model_copy(
            update={
                "outcome": "duplicate",
                "message": (
                    f"Already scanned by {previous.actor} at {previous.station}, "
                    f"{previous.scanned_at:%H:%M:%S}"
                ),
                "details": {
                    "by": previous.actor,
                    "station": previous.station,
                    "at": previous.scanned_at.isoformat(),
                },
            }
        )
    weight = _weight_outcome(parcel, data.weight_kg)
    if weight:
        return out.model_copy(
            update={
                "outcome": weight,
                "message": (
                    f"{weight}: {data.weight_kg} kg, expected {parcel.expected_weight_kg:.3f} kg"
                ),
            }
        )
    return out.model_copy(update={"message": f"Matched order {order.order_no}"})


def _replayed(session: Session, data: ScanIn) -> Scan | None:
    if not data.client_scan_id:
        return None
    query = select(Scan).where(
        Scan.station == data.station, Scan.client_scan_id == data.client_scan_id
    )
    return session.exec(query).first()


def scan_inbound(session: Session, data: ScanIn, principal: Principal) -> ScanOut:
    """Judge and log one inbound scan; a match emits `parcel.matched` in the same transaction."""
    principal.require_warehouse(data.warehouse)
    replay = _replayed(session, data)
    if replay is not None:
        return ScanOut(
            scan_id=replay.id or 0,
            outcome=replay.outcome,
            message="Repeat of an earlier scan",
            parcel_id=replay.parcel_id,
        )
    warehouse = _warehouse(session, data.warehouse)
    found = find_parcel(session, data.code)
    out = _judge(session, warehouse, found, data)
    assert warehouse.id is not None
    scan = Scan(
        warehouse_id=warehouse.id,
        station=data.station,
        client_scan_id=data.client_scan_id,
        code=data.code,
        weight_kg=data.weight_kg,
        outcome=out.outcome,
        parcel_id=out.parcel_id,
        actor=principal.actor,
    )
    session.add(scan)
    session.flush()
    if out.outcome == "matched" and found is not None:
        _mark_matched(session, found[0], found[1], scan, principal)
    return out.model_copy(update={"scan_id": scan.id})


def _mark_matched(
    session: Session, parcel: Parcel, order: Order, scan: Scan, principal: Principal
) -> None:
    parcel.floor_state = "received"
    parcel.weight_kg = scan.weight_kg or parcel.expected_weight_kg
    parcel.matched_at = scan.scanned_at
    session.add(parcel)
    assert order.id is not None
    outbox.record(
        session,
        "parcel.matched",
        ("order", order.id),
        actor=principal.actor,
        source=f"scan:{scan.id}",
        payload={"parcel_id": parcel.id, "station": scan.station},
    )
