"""Bags: a label covering several parcels of one warehouse, so one scan takes them all in."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from kit.auth import Principal, Role
from kit.errors import Conflict, FieldIssue, ValidationFailed
from warehouses.floor.scanning import warehouse_id_of
from warehouses.models import Bag, BagParcel, Order, Parcel
from warehouses.schemas import BagIn, BagOut


def _parcels(session: Session, data: BagIn, wh_id: int, principal: Principal) -> list[Parcel]:
    query = (
        select(Parcel, col(Order.merchant_id), col(BagParcel.bag_id))
        .join(Order, col(Order.id) == col(Parcel.order_id))
        .outerjoin(BagParcel, col(BagParcel.parcel_id) == col(Parcel.id))
        .where(col(Parcel.tracking_no).in_(data.tracking_nos))
    )
    found = {p.tracking_no: (p, m, b) for p, m, b in session.execute(query).tuples()}
    issues = []
    for i, number in enumerate(data.tracking_nos):
        parcel, merchant_id, bag_id = found.get(number, (None, None, None))
        problem = _problem(parcel, merchant_id, bag_id, wh_id, principal)
        if problem:
            issues.append(FieldIssue(f"tracking_nos[{i}]", problem[0], f"{number}: {problem[1]}"))
    if issues:
        raise ValidationFailed(issues)
    return [found[number][0] for number in dict.fromkeys(data.tracking_nos)]


def _problem(
    parcel: Parcel | None, merchant_id: int | None, bag_id: int | None, wh_id: int, who: Principal
) -> tuple[str, str] | None:
    if parcel is None or (who.role == Role.merchant and merchant_id != who.merchant_id):
        return "unknown_parcel", "no such parcel"
    if parcel.warehouse_id != wh_id:
        return "other_warehouse", "belongs to another warehouse"
    if bag_id is not None:
        return "already_bagged", "is already in a bag"
    return None


def create_bag(session: Session, data: BagIn, principal: Principal) -> BagOut:
    """Register a bag label and its parcels (merchants bag their own; staff at their warehouse)."""
    principal.require_warehouse(data.warehouse)
    wh_id = warehouse_id_of(session, data.warehouse)
    if session.execute(select(col(Bag.id)).where(col(Bag.label) == data.label)).first():
        raise Conflict("duplicate_bag", f"bag {data.label} exists", field="label")
    parcels = _parcels(session, data, wh_id, principal)
    bag = Bag(warehouse_id=wh_id, label=data.label, created_by=principal.actor)
    session.add(bag)
    session.flush()
    assert bag.id is not None
    session.add_all(BagParcel(bag_id=bag.id, parcel_id=p.id or 0) for p in parcels)
    return BagOut(id=bag.id, label=bag.label, warehouse=data.warehouse, parcels=len(parcels))
