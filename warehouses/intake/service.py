"""Order intake: every CBEC rule checked on the way in; a bad order leaves nothing behind."""

from __future__ import annotations

from sqlmodel import Session, select

from kit import outbox
from kit.auth import Principal, Role
from kit.errors import Conflict, NotFound
from warehouses.intake.batch import Item, Outcome, stored_key, take_orders
from warehouses.intake.rules import ORDER_COLUMNS
from warehouses.models import Order, Parcel
from warehouses.schemas import OrderIn

__all__ = ["cancel_order", "create_order", "stored_key", "submit_order"]


def _order(outcome: Outcome) -> Order:
    """The stored order as a model (no query): what the batch wrote, with its new id."""
    assert outcome.taken is not None
    return Order(id=outcome.order_id, **dict(zip(ORDER_COLUMNS, outcome.taken.order, strict=True)))


def _earlier(session: Session, outcome: Outcome) -> Order:
    order = session.get(Order, outcome.order_id)
    assert order is not None
    return order


def submit_order(
    session: Session, data: OrderIn, principal: Principal, idempotency_key: str | None = None
) -> tuple[Order, bool]:
    """Create the order, or return the one this idempotency key made before (True if replayed).
    A batch of one: the same reads, rules and inserts as a batch."""
    key = stored_key(data.merchant, idempotency_key)
    [outcome] = take_orders(session, [Item(data, key)], principal)
    if outcome.error is not None:
        raise outcome.error
    if outcome.replayed:
        return _earlier(session, outcome), True
    return _order(outcome), False


def create_order(
    session: Session, data: OrderIn, principal: Principal, *, idempotency_key: str | None = None
) -> Order:
    """Validate and store an order with its lines and expected parcel; emits `order.received`."""
    [outcome] = take_orders(session, [Item(data, idempotency_key)], principal)
    if outcome.error is not None:
        raise outcome.error
    return _order(outcome)


def _own_order(session: Session, order_no: str, principal: Principal) -> Order:
    query = select(Order).where(Order.order_no == order_no)
    if principal.role == Role.merchant:
        query = query.where(Order.merchant_id == principal.merchant_id)
    orders = list(session.exec(query))
    if not orders:
        raise NotFound("order_not_found", f"no order {order_no}", field="order_no")
    if len(orders) > 1:
        raise Conflict("ambiguous_order", f"{order_no} names orders of several merchants")
    return orders[0]


def cancel_order(session: Session, order_no: str, reason: str, principal: Principal) -> Order:
    """The merchant cancels an order; a parcel that already left the gate cannot be called back."""
    order = _own_order(session, order_no, principal)
    if order.status == "cancelled":
        return order
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).first()
    if parcel is not None and parcel.floor_state == "shipped":
        raise Conflict("order_shipped", f"order {order_no} has already left the warehouse")
    order.status = "cancelled"
    session.add(order)
    assert order.id is not None
    outbox.record(
        session,
        "order.cancelled",
        ("order", order.id),
        actor=principal.actor,
        payload={"order_no": order_no, "reason": reason},
    )
    return order
