"""Plays the warehouse staff for demos: scans every expected parcel at its own warehouse."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlmodel import Session, col

from kit.auth import Principal, Role
from kit.db import session_scope
from warehouses.floor.scanning import scan_inbound
from warehouses.models import Parcel, Warehouse
from warehouses.schemas import ScanIn

DEMO_STAFF = Principal(key_id=None, label="demo-floor", role=Role.admin)


def expected_parcels(session: Session, limit: int) -> list[tuple[str, str]]:
    query = (
        select(col(Parcel.tracking_no), col(Warehouse.code))
        .join(Warehouse, col(Warehouse.id) == col(Parcel.warehouse_id))
        .where(col(Parcel.floor_state) == "expected")
        .order_by(col(Parcel.id))
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def scan_batch(limit: int, station: str = "demo-1") -> int:
    """Scan up to `limit` expected parcels, each in its own transaction, as staff would."""
    with session_scope() as session:
        todo = expected_parcels(session, limit)
    for tracking_no, warehouse in todo:
        with session_scope() as session:
            scan_inbound(
                session, ScanIn(warehouse=warehouse, station=station, code=tracking_no), DEMO_STAFF
            )
    return len(todo)


def run_floor(stop: threading.Event, every_s: float = 0.4) -> None:
    """Scan one parcel every `every_s` seconds until stopped (for `serve --demo-floor`)."""
    while not stop.wait(every_s):
        scan_batch(1)
