"""Batched order intake: reference data read once, every rule in Python, one insert a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kit import outbox
from kit.auth import Principal, Role
from kit.errors import Conflict, DomainError, FieldIssue, ValidationFailed
from warehouses.intake import repo as intake_repo
from warehouses.intake.rules import Book, Ledger, Taken, judge
from warehouses.schemas import OrderIn


@dataclass
class Item:
    """One order to take, with its stored idempotency key (already made per merchant)."""

    data: OrderIn
    key: str | None = None


@dataclass
class Outcome:
    """How one order fared: taken (its id; None in a dry run), replayed by its idempotency key,
    or refused with the error naming every field at fault."""

    order_no: str
    order_id: int | None = None
    replayed: bool = False
    error: DomainError | None = None
    taken: Taken | None = None

    @property
    def issues(self) -> list[FieldIssue]:
        if self.error is None:
            return []
        if isinstance(self.error, ValidationFailed):
            return self.error.issues
        return [FieldIssue(self.error.field or "order", self.error.code, self.error.message)]


def stored_key(merchant: str, key: str | None) -> str | None:
    """Idempotency keys are per merchant: two merchants may pick the same key."""
    return f"{merchant}:{key}" if key else None


def _foreign(book: Book, item: Item, scope: int | None) -> Outcome | None:
    """A merchant posting for another merchant is refused before any replay is looked at: the
    stored key is made from the merchant in the body, so that merchant must be the caller."""
    merchant_id = book.merchants.get(item.data.merchant)
    if scope is None or merchant_id is None or merchant_id == scope:
        return None
    error = ValidationFailed.one("merchant", "not_your_merchant", "you may only post your orders")
    return Outcome(item.data.order_no, error=error)


def _replay(item: Item, earlier: tuple[int, str]) -> Outcome:
    order_id, order_no = earlier
    if order_no != item.data.order_no:
        error = Conflict(
            "idempotency_key_reused",
            f"this idempotency key already created order {order_no}",
            field="idempotency_key",
        )
        return Outcome(item.data.order_no, error=error)
    return Outcome(order_no, order_id, replayed=True)


def _judge_one(
    book: Book, ledger: Ledger, item: Item, scope: int | None, keyed: dict[str, tuple[int, str]]
) -> Outcome:
    refused = _foreign(book, item, scope)
    if refused is not None:
        return refused
    if item.key is not None and item.key in keyed:
        return _replay(item, keyed[item.key])
    outcome = Outcome(item.data.order_no)
    try:
        now = outbox.utcnow()
        outcome.taken = judge(book, ledger, item.data, merchant_scope=scope, key=item.key, now=now)
    except DomainError as error:
        outcome.error = error
    return outcome


def _judge_all(
    book: Book,
    ledger: Ledger,
    items: Sequence[Item],
    principal: Principal,
    keyed: dict[str, tuple[int, str]],
) -> list[Outcome]:
    scope = principal.merchant_id if principal.role == Role.merchant else None
    return [_judge_one(book, ledger, item, scope, keyed) for item in items]


def take_orders(
    session: Session,
    items: Sequence[Item],
    principal: Principal,
    *,
    ledger: Ledger | None = None,
    dry_run: bool = False,
) -> list[Outcome]:
    """Judge every order against what the database and the earlier orders hold, then store the
    good ones with one insert per table and their `order.received` events; a dry run stores
    nothing. Pass the same `ledger` to the chunks of one import so they see each other."""
    ledger = ledger if ledger is not None else Ledger()
    # SQLite has one writer, and its savepoint outside a transaction would commit on release.
    if dry_run or len(items) < 2 or not intake_repo.on_postgresql(session):
        return _take(session, items, principal, ledger, dry_run)
    before = ledger.copy()
    try:
        with session.begin_nested():
            return _take(session, items, principal, ledger, dry_run)
    except (IntegrityError, psycopg.IntegrityError):
        # A concurrent batch stored one of these numbers after they were read: its commit is
        # visible now, so judging again refuses that order alone, by name.
        ledger.restore(before)
        return _take(session, items, principal, ledger, dry_run)


def _take(
    session: Session, items: Sequence[Item], principal: Principal, ledger: Ledger, dry_run: bool
) -> list[Outcome]:
    orders = [item.data for item in items]
    book = intake_repo.load_book(session, orders)
    # Numbers before keys: an order whose number is seen taken was committed before the keys
    # are read, so a concurrent twin with the same key is seen as the replay it is, not as a
    # duplicate order number.
    intake_repo.fill_ledger(session, ledger, orders)
    keyed = intake_repo.keyed_orders(session, {i.key for i in items if i.key is not None})
    outcomes = _judge_all(book, ledger, items, principal, keyed)
    if not dry_run:
        _store(session, [o for o in outcomes if o.taken is not None], principal)
    return outcomes


def _store(session: Session, good: list[Outcome], principal: Principal) -> None:
    ids = intake_repo.store(session, [o.taken for o in good if o.taken is not None])
    for outcome, order_id in zip(good, ids, strict=True):
        outcome.order_id = order_id
    outbox.record_many(session, [_event(o, principal) for o in good])


def _event(outcome: Outcome, principal: Principal) -> dict[str, Any]:
    assert outcome.taken is not None
    return {
        "topic": "order.received",
        "subject_type": "order",
        "subject_id": outcome.order_id,
        "actor": principal.actor,
        "payload": {"order_no": outcome.order_no, "actural_paid": str(outcome.taken.actural_paid)},
    }


def take_all(session: Session, orders: Sequence[OrderIn], principal: Principal) -> int:
    """Orders already validated by their schema (a generated wave, a trusted feed), without
    idempotency keys: how many were taken (the 11.11 simulation's intake)."""
    outcomes = take_orders(session, [Item(data) for data in orders], principal)
    return sum(outcome.order_id is not None for outcome in outcomes)
