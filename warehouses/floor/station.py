"""A station's own view: its latest scans, undoing the last one, and the warehouse's counts."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from kit import outbox
from kit.auth import Principal
from kit.errors import Conflict, NotFound
from kit.outbox import utcnow
from warehouses.floor import repo
from warehouses.floor.scanning import warehouse_id_of
from warehouses.models import FloorException, Parcel, Scan
from warehouses.schemas import FloorSummary, ScanLogRow, StationIn, UndoOut


def recent_scans(
    session: Session, warehouse: str, station: str, principal: Principal, limit: int = 20
) -> list[ScanLogRow]:
    principal.require_warehouse(warehouse)
    wh_id = warehouse_id_of(session, warehouse)
    rows = repo.scanned_at_station(session, wh_id, station, limit)
    return [ScanLogRow.model_validate(row, from_attributes=True) for row in rows]


def _last_scan(session: Session, wh_id: int, station: str) -> Scan:
    query = (
        select(Scan)
        .where(
            col(Scan.warehouse_id) == wh_id,
            col(Scan.station) == station,
            col(Scan.parent_scan_id).is_(None),
            col(Scan.undone_at).is_(None),
        )
        .order_by(col(Scan.id).desc())
        .limit(1)
    )
    scan = session.execute(query).scalar()
    if scan is None:
        raise NotFound("nothing_to_undo", f"station {station} has no scan to undo", "station")
    return scan


def _unreceive(session: Session, scan: Scan, actor: str) -> int:
    """Put a parcel this scan took in back to expected, and say so on its timeline (1 if so).
    Not once it is declared: customs holds a declaration for it, which only a broker's
    cancellation (CEB623) withdraws. The condition is in the UPDATE, so a declaration that
    commits while the undo waits for the row is seen."""
    query = (
        update(Parcel)
        .where(
            col(Parcel.id) == scan.parcel_id,
            col(Parcel.floor_state) == "received",
            col(Parcel.customs_state) == "none",
        )
        .values(floor_state="expected", matched_at=None, weight_kg=None)
        .returning(col(Parcel.order_id))
    )
    order_id = session.execute(query).scalar()
    if order_id is None:
        _refuse_if_declared(session, scan)
        return 0
    payload = {"parcel_id": scan.parcel_id, "station": scan.station}
    outbox.record(
        session,
        "parcel.scan_undone",
        ("order", order_id),
        actor=actor,
        source=f"scan:{scan.id}",
        payload=payload,
    )
    return 1


def _refuse_if_declared(session: Session, scan: Scan) -> None:
    query = select(col(Parcel.customs_state)).where(col(Parcel.id) == scan.parcel_id)
    state = session.execute(query).scalar()
    if state not in (None, "none"):
        raise Conflict(
            "already_declared",
            f"parcel {scan.parcel_id} is already declared to customs ({state}); "
            "a broker must cancel the declaration before the scan can be undone",
            field="station",
            message_zh=f"包裹 {scan.parcel_id} 已向海关申报（{state}），"
            "须由报关员撤销申报后才能撤销扫描",
        )


def _withdraw_exceptions(session: Session, scan_ids: list[int], actor: str) -> None:
    query = (
        update(FloorException)
        .where(col(FloorException.scan_id).in_(scan_ids), col(FloorException.state) == "open")
        .values(state="undone", resolved_at=utcnow(), resolved_by=actor)
        .returning(col(FloorException.parcel_id))
    )
    for parcel_id in session.execute(query).scalars().all():
        if parcel_id is not None and not repo.has_open_exception(session, parcel_id):
            session.execute(
                update(Parcel)
                .where(col(Parcel.id) == parcel_id, col(Parcel.floor_state) == "exception")
                .values(floor_state="expected")
            )


def undo_last(session: Session, data: StationIn, principal: Principal) -> UndoOut:
    """Undo the station's last scan (and a bag's per-parcel scans); a gate-out cannot be undone."""
    principal.require_warehouse(data.warehouse)
    scan = _last_scan(session, warehouse_id_of(session, data.warehouse), data.station)
    assert scan.id is not None
    if scan.kind == "gate_out" and scan.outcome == "shipped":
        raise Conflict("parcel_left", "the parcel has left through the gate; it cannot be undone")
    scans = [scan, *repo.children_of(session, scan.id)]
    when = utcnow()
    repo.mark_undone(session, [s.id for s in scans if s.id is not None], principal.actor, when)
    taken_in = [s for s in scans if s.outcome == "matched" and s.parcel_id and s.kind == "inbound"]
    put_back = sum(_unreceive(session, each, principal.actor) for each in taken_in)
    _withdraw_exceptions(session, [s.id for s in scans if s.id is not None], principal.actor)
    scan.undone_at, scan.undone_by = when, principal.actor
    row = ScanLogRow.model_validate(scan, from_attributes=True)
    return UndoOut(**row.model_dump(), parcels_put_back=put_back)


def _parcel_counts(session: Session, wh_id: int) -> dict[str, int]:
    query = (
        select(col(Parcel.floor_state), func.count())
        .where(col(Parcel.warehouse_id) == wh_id)
        .group_by(col(Parcel.floor_state))
    )
    return dict(session.execute(query).tuples().all())


def open_exception_counts(session: Session, wh_id: int) -> dict[str, int]:
    query = (
        select(col(FloorException.reason), func.count())
        .where(col(FloorException.warehouse_id) == wh_id, col(FloorException.state) == "open")
        .group_by(col(FloorException.reason))
    )
    return dict(session.execute(query).tuples().all())


def floor_summary(session: Session, warehouse: str) -> FloorSummary:
    """Parcels expected, received and shipped at a warehouse, and its open exceptions by reason."""
    wh_id = warehouse_id_of(session, warehouse)
    parcels = _parcel_counts(session, wh_id)
    return FloorSummary(
        warehouse=warehouse,
        expected=parcels.get("expected", 0),
        received=parcels.get("received", 0),
        shipped=parcels.get("shipped", 0),
        open_exceptions=open_exception_counts(session, wh_id),
    )
