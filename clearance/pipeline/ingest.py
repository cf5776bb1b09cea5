"""Applies customs receipts to cases in batches: store raw, de-duplicate, apply only if newer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, union, update
from sqlmodel import Session, col

from clearance.pipeline.documents import apply_receipts
from clearance.pipeline.models import ClearanceCase, CustomsMessage, Receipt
from clearance.pipeline.state import (
    customs_may_move,
    request_outcome,
    state_for_status,
    status_rank,
)
from declarations.codes import describe_status
from declarations.receipts import Receipt as ParsedReceipt
from kit import outbox
from kit.db import copy_rows, insert_ignoring_conflicts
from kit.outbox import utcnow
from kit.settings import get_settings
from warehouses.models import Order, Parcel, Warehouse

ACTOR = "customs"
INVENTORY_RECEIPT = "CEB622"
SCHEMA_FAILURE = "CEB900"
ANSWER_OF = {"CEB621": "CEB622", "CEB623": "CEB624", "CEB625": "CEB626"}
Key = tuple[str, int, str]


@dataclass(frozen=True)
class ReceiptFile:
    """One receipt file as read from the exchange: its name, raw text and parsed receipts."""

    name: str
    raw: str
    receipts: list[ParsedReceipt]


@dataclass
class _Case:
    """A locked case as the batch sees it; changes are written back once per batch."""

    row: dict[str, Any]
    changed: bool = False
    moved: bool = False
    sent: dict[str, str] = field(default_factory=dict)  # message guid → its type (CEB621 …)


@dataclass
class _Batch:
    counts: Counter[str] = field(default_factory=Counter)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    returned_orders: set[int] = field(default_factory=set)
    # Rows of receipts that matched no case, with their keys, to be placed at a warehouse.
    unmatched: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)


def key_of(receipt: ParsedReceipt) -> Key:
    return (receipt.guid, receipt.return_status, receipt.return_time)


def _order_of(receipt: ParsedReceipt) -> tuple[str, int]:
    # Customs stamps returnTime to the millisecond; equal stamps fall back to lifecycle order.
    return (receipt.return_time, status_rank(receipt.return_status))


def ingest_files(session: Session, files: list[ReceiptFile]) -> dict[str, int]:
    """Store and apply every receipt of `files` in the caller's transaction; counts per outcome."""
    batch = _Batch()
    fresh = _fresh(session, files, batch)
    cases = _lock_cases(session, [r for _, r in fresh])
    for file, receipt in sorted(fresh, key=lambda item: _order_of(item[1])):
        _take(batch, cases, file, receipt)
    if batch.unmatched:
        _place_unmatched(session, batch.unmatched)
    _write(session, batch, cases)
    apply_receipts(session, [receipt for _, receipt in fresh])  # 312/412/512 release CEB621s
    return dict(batch.counts)


def _fresh(
    session: Session, files: list[ReceiptFile], batch: _Batch
) -> list[tuple[ReceiptFile, ParsedReceipt]]:
    """Receipts not seen before (in the database or earlier in this batch)."""
    seen = _stored_keys(session, {r.guid for f in files for r in f.receipts})
    fresh = []
    for file in files:
        for receipt in file.receipts:
            if key_of(receipt) in seen:
                batch.counts["duplicate"] += 1
                continue
            seen.add(key_of(receipt))
            fresh.append((file, receipt))
    return fresh


def _stored_keys(session: Session, guids: set[str]) -> set[Key]:
    if not guids:
        return set()
    query = select(col(Receipt.guid), col(Receipt.return_status), col(Receipt.return_time)).where(
        col(Receipt.guid).in_(guids)
    )
    return {(g, s, t) for g, s, t in session.execute(query)}


def _case_columns() -> list[Any]:
    names = ["id", "order_id", "parcel_id", "warehouse_id", "state", "cop_no", "pre_no", "invt_no"]
    names += ["last_status", "last_return_time", "last_return_info", "state_since"]
    return [getattr(ClearanceCase, name) for name in names]


def _case_ids_named(cop_nos: set[str], guids: set[str]) -> Any:
    """Ids of the cases a batch names, each key through its own unique index: an OR across the
    join made PostgreSQL scan both tables whole, a cost that grew with every parcel."""
    by_cop_no = select(col(ClearanceCase.id)).where(col(ClearanceCase.cop_no).in_(cop_nos))
    by_guid = select(col(CustomsMessage.case_id)).where(col(CustomsMessage.guid).in_(guids))
    return union(by_cop_no, by_guid)


def _lock_cases(session: Session, receipts: list[ParsedReceipt]) -> dict[str, _Case]:
    """The cases receipts speak of, keyed by copNo and by message guid, locked in id order."""
    cop_nos = {r.keys["copNo"] for r in receipts if r.keys.get("copNo")}
    guids = {r.guid for r in receipts if not r.keys.get("copNo")}
    sent_type: Any = col(CustomsMessage.message_type).label("sent_type")
    query = select(*_case_columns(), col(CustomsMessage.guid), sent_type).outerjoin(
        CustomsMessage, col(CustomsMessage.case_id) == col(ClearanceCase.id)
    )
    query = query.where(col(ClearanceCase.id).in_(_case_ids_named(cop_nos, guids)))
    query = query.order_by(col(ClearanceCase.id))
    if not get_settings().is_sqlite:
        # Row locks taken in id order: two workers on overlapping batches queue, never deadlock.
        query = query.with_for_update(of=_table(ClearanceCase))
    by_key: dict[str, _Case] = {}
    by_id: dict[int, _Case] = {}
    for row in session.execute(query).mappings():
        fields = {k: v for k, v in row.items() if k not in ("guid", "sent_type")}
        case = by_id.setdefault(row["id"], _Case(fields))
        by_key[case.row["cop_no"]] = case
        if row["guid"]:
            by_key[row["guid"]] = case
            case.sent[row["guid"]] = row["sent_type"]
    return by_key


def _take(
    batch: _Batch, cases: dict[str, _Case], file: ReceiptFile, receipt: ParsedReceipt
) -> None:
    case = cases.get(receipt.keys.get("copNo") or receipt.guid)
    kind = _kind(case, receipt)
    if case is None:
        outcome = "unmatched"
    elif kind != INVENTORY_RECEIPT:
        outcome = "applied"  # answers to our own requests do not compete with the inventory's
        _apply_answer(batch, case, receipt, kind)
    elif _is_newer(case.row, receipt):
        outcome = "applied"
        _apply(batch, case, receipt)
    else:
        outcome = "stale"
    batch.counts[outcome] += 1
    row = _receipt_row(file, receipt, case, outcome)
    batch.receipts.append(row)
    if case is None:
        batch.unmatched.append((row, receipt.keys))


# Receipt keys that name a warehouse's customs profile (cbec-facts §2.9: a CEB622 carries
# customsCode and agentCode, a CEB512 logisticsCode).
PROFILE_KEYS = {
    "customsCode": "customs_code",
    "agentCode": "agent_code",
    "logisticsCode": "logistics_code",
}


def _place_unmatched(
    session: Session, unmatched: list[tuple[dict[str, Any], dict[str, str]]]
) -> None:
    """Give each unmatched receipt the one warehouse whose profile its keys name, if one does,
    so that warehouse's brokers see it."""
    profiles = [dict(r) for r in session.execute(select(*_profile_columns())).mappings()]
    for row, keys in unmatched:
        row["warehouse_id"] = warehouse_named(profiles, keys)


def _profile_columns() -> list[Any]:
    return [col(Warehouse.id), *(getattr(Warehouse, name) for name in PROFILE_KEYS.values())]


def warehouse_named(profiles: list[dict[str, Any]], keys: dict[str, str]) -> int | None:
    """The id of the only warehouse whose profile agrees with every profile key given (pure)."""
    named = {PROFILE_KEYS[k]: v for k, v in keys.items() if k in PROFILE_KEYS and v}
    if not named:
        return None
    found = [p["id"] for p in profiles if all(p[k] == v for k, v in named.items())]
    return found[0] if len(found) == 1 else None


def _kind(case: _Case | None, receipt: ParsedReceipt) -> str:
    """The answer a receipt stands for: a CEB900 (schema failure) answers whichever message
    carried its guid — our CEB621, CEB623 or CEB625 — and counts as that message's refusal."""
    if receipt.message_type != SCHEMA_FAILURE or case is None:
        return receipt.message_type
    return ANSWER_OF.get(case.sent.get(receipt.guid, ""), SCHEMA_FAILURE)


def _is_newer(row: dict[str, Any], receipt: ParsedReceipt) -> bool:
    if row["last_return_time"] is None:
        return True
    held = (row["last_return_time"], status_rank(row["last_status"]))
    return _order_of(receipt) > held


def _receipt_row(
    file: ReceiptFile, receipt: ParsedReceipt, case: _Case | None, outcome: str
) -> dict[str, Any]:
    return {
        "message_type": receipt.message_type,
        "guid": receipt.guid,
        "cop_no": receipt.keys.get("copNo"),
        "return_status": receipt.return_status,
        "return_time": receipt.return_time,
        "return_info": receipt.return_info[:1000],
        "case_id": case.row["id"] if case else None,
        "warehouse_id": case.row["warehouse_id"] if case else None,
        "outcome": outcome,
        "file_name": file.name,
        # The file itself when it is this receipt alone, else this receipt's own element: a
        # CEB622 file of 50 receipts stored whole on every row was 50 copies (20 KB a row).
        "raw": file.raw if len(file.receipts) == 1 else receipt.raw,
        "received_at": utcnow(),
    }


def receipt_payload(receipt: ParsedReceipt) -> dict[str, Any]:
    """What an event says about a receipt: its status, time, reason and meaning (zh/en)."""
    meaning = describe_status(receipt.return_status)
    return {
        "message_type": receipt.message_type,
        "return_status": receipt.return_status,
        "return_time": receipt.return_time,
        "return_info": receipt.return_info,
        "meaning_zh": meaning.zh,
        "meaning_en": meaning.en,
        "class": meaning.klass.value,
    }


def _apply(batch: _Batch, case: _Case, receipt: ParsedReceipt) -> None:
    row, case.changed = case.row, True
    row["last_status"], row["last_return_time"] = receipt.return_status, receipt.return_time
    row["last_return_info"] = receipt.return_info[:1000]
    row["pre_no"] = receipt.keys.get("preNo") or row["pre_no"]
    row["invt_no"] = receipt.keys.get("invtNo") or row["invt_no"]
    payload = receipt_payload(receipt)
    target = state_for_status(receipt.return_status)
    topic = "clearance.receipt"
    if target and target != row["state"] and customs_may_move(row["state"]):
        topic, payload = _moved(case, target, payload)
    _event(batch, case, receipt, topic, payload)


def _moved(case: _Case, target: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    row = case.row
    payload = {"from": row["state"], "to": target, **payload}
    row["state"], row["state_since"], case.moved, case.changed = target, utcnow(), True, True
    return f"clearance.{target}", payload


def _apply_answer(batch: _Batch, case: _Case, receipt: ParsedReceipt, kind: str) -> None:
    """CEB624/626: customs concluded (or refused) our withdrawal or return request."""
    payload = receipt_payload(receipt)
    outcome = request_outcome(kind, receipt.return_status)
    topic = "clearance.receipt"
    if outcome == "refused":
        request = "cancel" if kind == "CEB624" else "return"
        topic = f"clearance.{request}_refused"
    elif outcome and outcome != case.row["state"]:
        topic, payload = _moved(case, outcome, payload)
    if outcome == "returned":
        batch.returned_orders.add(case.row["order_id"])
    _event(batch, case, receipt, topic, payload)


def _event(
    batch: _Batch, case: _Case, receipt: ParsedReceipt, topic: str, payload: dict[str, Any]
) -> None:
    batch.events.append(
        {
            "topic": topic,
            "subject_type": "order",
            "subject_id": case.row["order_id"],
            "actor": ACTOR,
            "source": f"receipt:{receipt.guid}:{receipt.return_status}:{receipt.return_time}",
            "payload": payload,
        }
    )


def _write(session: Session, batch: _Batch, cases: dict[str, _Case]) -> None:
    changed = list({id(c): c for c in cases.values() if c.changed}.values())
    if session.get_bind().dialect.name == "postgresql":
        copy_writes(session, batch.receipts, changed)
    else:
        _write_rows(session, batch.receipts, changed)
    _give_back_allowance(session, batch.returned_orders)
    outbox.record_many(session, batch.events)


def _give_back_allowance(session: Session, order_ids: set[int]) -> None:
    """A return customs concluded (CEB626) gives the buyer's annual allowance back (GACC 2020
    No.45, cbec-facts §5.3): intake counts the order less the goods taken back. Our CEB625
    returns every line, so that is the order's goods value (Σ price × qty, as the simulator)."""
    if not order_ids:
        return
    table = _table(Order)
    session.execute(
        update(table)
        .where(table.c.id.in_(sorted(order_ids)))
        .values(returned_value=table.c.goods_value)
    )


def _write_rows(session: Session, receipts: list[dict[str, Any]], changed: list[_Case]) -> None:
    if receipts:
        statement = insert_ignoring_conflicts(session, _table(Receipt))
        session.connection().execute(statement, receipts)
    _update_cases(session, [c.row for c in changed])
    _mirror_parcels(session, [c.row for c in changed if c.moved])


RECEIPT_COLUMNS = ["message_type", "guid", "cop_no", "return_status", "return_time"]
RECEIPT_COLUMNS += ["return_info", "case_id", "outcome", "file_name", "raw", "received_at"]
RECEIPT_COLUMNS += ["warehouse_id"]
INCOMING_CASE = """CREATE TEMP TABLE IF NOT EXISTS incoming_cases (
    id integer, parcel_id integer, moved boolean, state varchar(24),
    state_since timestamptz, pre_no varchar(18), invt_no varchar(18), last_status integer,
    last_return_time varchar(17), last_return_info varchar(1000)) ON COMMIT DELETE ROWS"""
CASE_COLUMNS = ["id", "parcel_id", "moved", "state", "state_since", "pre_no", "invt_no"]
CASE_COLUMNS += ["last_status", "last_return_time", "last_return_info"]


def copy_writes(session: Session, receipts: list[dict[str, Any]], changed: list[_Case]) -> None:
    """PostgreSQL: COPY into session-local staging tables, then one set-based statement each
    (de-duplication stays with the unique constraint: ON CONFLICT DO NOTHING)."""
    if receipts:
        names = ", ".join(RECEIPT_COLUMNS)
        session.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS incoming_receipts ON COMMIT DELETE ROWS "
                f"AS SELECT {names} FROM receipts WITH NO DATA"
            )
        )
        rows = ([r[name] for name in RECEIPT_COLUMNS] for r in receipts)
        copy_rows(session, "incoming_receipts", RECEIPT_COLUMNS, rows)
        session.execute(
            text(
                f"INSERT INTO receipts ({names}) SELECT {names} FROM incoming_receipts "
                "ON CONFLICT DO NOTHING"
            )
        )
    if changed:
        _copy_cases(session, changed)


def _copy_cases(session: Session, changed: list[_Case]) -> None:
    session.execute(text(INCOMING_CASE))
    rows = ([c.moved if n == "moved" else c.row[n] for n in CASE_COLUMNS] for c in changed)
    copy_rows(session, "incoming_cases", CASE_COLUMNS, rows)
    fields = ", ".join(f"{name} = n.{name}" for name in CASE_FIELDS)
    session.execute(
        text(f"UPDATE clearance_cases c SET {fields} FROM incoming_cases n WHERE c.id = n.id")
    )
    session.execute(
        text(
            "UPDATE parcels p SET customs_state = n.state FROM incoming_cases n "
            "WHERE p.id = n.parcel_id AND n.moved"
        )
    )


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


CASE_FIELDS = ["state", "state_since", "pre_no", "invt_no", "last_status", "last_return_time"]
CASE_FIELDS += ["last_return_info"]


def _update_cases(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = _table(ClearanceCase)
    statement = (
        update(table)
        .where(table.c.id == bindparam("case_id"))
        .values({name: bindparam(f"new_{name}") for name in CASE_FIELDS})
    )
    params = [{"case_id": r["id"], **{f"new_{n}": r[n] for n in CASE_FIELDS}} for r in rows]
    session.connection().execute(statement, params)


def _mirror_parcels(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = _table(Parcel)
    statement = (
        update(table)
        .where(table.c.id == bindparam("parcel_id"))
        .values(customs_state=bindparam("new_state"))
    )
    params = [{"parcel_id": r["parcel_id"], "new_state": r["state"]} for r in rows]
    session.connection().execute(statement, params)
