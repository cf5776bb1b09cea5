"""Queries of the scan hot path, as prebuilt Core statements (no ORM unit of work per scan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, exists, insert, or_, select, union_all, update
from sqlmodel import Session, col

from kit.db import HotStatement
from kit.outbox import utcnow
from warehouses.models import Bag, BagParcel, FloorException, Order, Parcel, Scan, Warehouse

# Floor states a parcel can be taken in from (a mismatched parcel may be re-weighed and rescanned).
RECEIVABLE = ("expected", "exception")


@dataclass(frozen=True)
class ParcelView:
    """What the floor needs to judge a scan of one parcel."""

    id: int
    order_id: int
    warehouse_id: int
    warehouse_code: str
    tracking_no: str
    floor_state: str
    customs_state: str
    expected_weight_kg: Decimal
    order_no: str
    order_status: str


def _parcel_columns() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(Parcel.id),
            col(Parcel.order_id),
            col(Parcel.warehouse_id),
            col(Warehouse.code),
            col(Parcel.tracking_no),
            col(Parcel.floor_state),
            col(Parcel.customs_state),
            col(Parcel.expected_weight_kg),
            col(Order.order_no),
            col(Order.status),
        )
        .join(Order, col(Order.id) == col(Parcel.order_id))
        .join(Warehouse, col(Warehouse.id) == col(Parcel.warehouse_id))
    )


# Three indexed lookups glued together: an OR across joined tables defeats the indexes.
_BY_CODE = HotStatement(
    union_all(
        _parcel_columns().where(col(Parcel.tracking_no) == bindparam("code")),
        _parcel_columns().where(col(Parcel.waybill_no) == bindparam("code")),
        _parcel_columns().where(col(Order.order_no) == bindparam("code")),
    )
)
_BY_BAG = _parcel_columns().where(
    col(Parcel.id).in_(
        select(col(BagParcel.parcel_id)).where(col(BagParcel.bag_id) == bindparam("bag_id"))
    )
)
_BAG = select(col(Bag.id), col(Bag.warehouse_id)).where(col(Bag.label) == bindparam("code"))
# Station names repeat across warehouses (dock-1), so a client scan id is one warehouse's.
_REPLAY = HotStatement(
    select(col(Scan.id), col(Scan.outcome), col(Scan.message), col(Scan.parcel_id))
    .join(Warehouse, col(Warehouse.id) == col(Scan.warehouse_id))
    .where(
        col(Warehouse.code) == bindparam("warehouse"),
        col(Scan.station) == bindparam("station"),
        col(Scan.client_scan_id) == bindparam("client_scan_id"),
    )
)
_CLAIM_RECEIVED = HotStatement(
    update(Parcel)
    .where(
        col(Parcel.id) == bindparam("parcel_id"),
        or_(*(col(Parcel.floor_state) == state for state in RECEIVABLE)),
    )
    .values(floor_state="received", weight_kg=bindparam("weight"), matched_at=bindparam("now"))
)
_CLAIM_SHIPPED = HotStatement(
    update(Parcel)
    .where(
        col(Parcel.id) == bindparam("parcel_id"),
        col(Parcel.floor_state) != "shipped",
        col(Parcel.customs_state) == "released",
    )
    .values(floor_state="shipped", gate_out_at=bindparam("now"))
)
_WAREHOUSE_ID = HotStatement(
    select(col(Warehouse.id)).where(col(Warehouse.code) == bindparam("code"))
)
# Every column named on every insert, so one compiled statement serves all scans.
_SCAN_COLUMNS = (
    *("warehouse_id", "station", "code", "outcome", "actor", "kind", "scanned_at"),
    *("client_scan_id", "weight_kg", "parcel_id", "bag_id", "parent_scan_id", "message"),
)
_INSERT_SCAN = HotStatement(
    insert(Scan).values({name: bindparam(name) for name in _SCAN_COLUMNS}).returning(col(Scan.id))
)
_SCAN_DEFAULTS: dict[str, Any] = {
    "client_scan_id": None,
    "weight_kg": None,
    "parcel_id": None,
    "bag_id": None,
    "parent_scan_id": None,
    "message": None,
}


@dataclass(frozen=True)
class EarlierScan:
    """A scan already logged under the same warehouse, station and client scan id."""

    id: int
    outcome: str
    message: str | None
    parcel_id: int | None


def warehouse_id(session: Session, code: str) -> int | None:
    return _WAREHOUSE_ID.scalar(session, {"code": code})


def parcels_by_code(session: Session, code: str) -> list[ParcelView]:
    """Parcels a code names by tracking number, waybill or order number (distinct)."""
    rows = _BY_CODE.rows(session, {"code": code})
    seen: dict[int, ParcelView] = {}
    for row in rows:
        seen.setdefault(row[0], ParcelView(*row))
    return list(seen.values())


def bag_by_label(session: Session, code: str) -> tuple[int, int] | None:
    row = session.execute(_BAG, {"code": code}).first()
    return (row[0], row[1]) if row else None


def parcels_in_bag(session: Session, bag_id: int) -> list[ParcelView]:
    rows = session.execute(_BY_BAG.order_by(col(Parcel.id)), {"bag_id": bag_id}).all()
    return [ParcelView(*row) for row in rows]


def replayed_scan(
    session: Session, warehouse: str, station: str, client_scan_id: str
) -> EarlierScan | None:
    """The scan logged before at this warehouse's station under the same client scan id."""
    params = {"warehouse": warehouse, "station": station, "client_scan_id": client_scan_id}
    row = _REPLAY.first(session, params)
    return EarlierScan(row[0] or 0, row[1], row[2], row[3]) if row else None


def previous_scan(session: Session, parcel_id: int, kind: str) -> Scan | None:
    """The scan that last took this parcel in (or out), if it was not undone."""
    query = (
        select(Scan)
        .where(
            col(Scan.parcel_id) == parcel_id,
            col(Scan.kind) == kind,
            col(Scan.outcome).in_(("matched", "shipped")),
            col(Scan.undone_at).is_(None),
        )
        .order_by(col(Scan.id).desc())
        .limit(1)
    )
    return session.execute(query).scalar()


def claim_received(session: Session, parcel_id: int, weight: Decimal | None) -> bool:
    """Mark the parcel received unless another scan got there first (False then)."""
    params = {"parcel_id": parcel_id, "weight": weight, "now": utcnow()}
    return _CLAIM_RECEIVED.rowcount(session, params) == 1


def claim_shipped(session: Session, parcel_id: int) -> bool:
    """Mark the parcel gone through the gate, only if customs released it and it is still in."""
    params = {"parcel_id": parcel_id, "now": utcnow()}
    return _CLAIM_SHIPPED.rowcount(session, params) == 1


def set_floor_state(session: Session, parcel_id: int, state: str) -> None:
    session.execute(update(Parcel).where(col(Parcel.id) == parcel_id).values(floor_state=state))


def insert_scan(session: Session, values: dict[str, Any]) -> int:
    row = {**_SCAN_DEFAULTS, **values, "scanned_at": utcnow()}
    return int(_INSERT_SCAN.scalar(session, row) or 0)


def open_exception_for(
    session: Session, warehouse_id: int, parcel_id: int | None, code: str
) -> int | None:
    """The open exception already queued for this parcel (or this unknown code), if any."""
    query = select(col(FloorException.id)).where(
        col(FloorException.warehouse_id) == warehouse_id, col(FloorException.state) == "open"
    )
    if parcel_id is not None:
        query = query.where(col(FloorException.parcel_id) == parcel_id)
    else:
        query = query.where(
            col(FloorException.parcel_id).is_(None), col(FloorException.code) == code
        )
    return session.execute(query.limit(1)).scalar()


def insert_exception(session: Session, values: dict[str, Any]) -> int:
    query = (
        insert(FloorException)
        .values(created_at=utcnow(), state="open", **values)
        .returning(col(FloorException.id))
    )
    return int(session.execute(query).scalar_one())


def resolve_open_exceptions(session: Session, parcel_id: int, state: str, actor: str) -> None:
    query = (
        update(FloorException)
        .where(col(FloorException.parcel_id) == parcel_id, col(FloorException.state) == "open")
        .values(state=state, resolved_at=utcnow(), resolved_by=actor)
    )
    session.execute(query)


def has_open_exception(session: Session, parcel_id: int) -> bool:
    query = select(
        exists().where(
            col(FloorException.parcel_id) == parcel_id, col(FloorException.state) == "open"
        )
    )
    return bool(session.execute(query).scalar())


def scanned_at_station(session: Session, wh_id: int, station: str, limit: int) -> list[Scan]:
    """The station's latest scans as staff saw them (bag children folded into their bag)."""
    query = (
        select(Scan)
        .where(
            col(Scan.warehouse_id) == wh_id,
            col(Scan.station) == station,
            col(Scan.parent_scan_id).is_(None),
        )
        .order_by(col(Scan.id).desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def children_of(session: Session, scan_id: int) -> list[Scan]:
    query = select(Scan).where(col(Scan.parent_scan_id) == scan_id).order_by(col(Scan.id))
    return list(session.scalars(query))


def mark_undone(session: Session, scan_ids: list[int], actor: str, when: datetime) -> None:
    query = update(Scan).where(col(Scan.id).in_(scan_ids)).values(undone_at=when, undone_by=actor)
    session.execute(query)
