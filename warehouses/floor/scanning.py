"""Scans at a station: match a code to its parcel(s) and order, judge, log, and act on it.

Inbound outcomes: matched, duplicate, unknown, ambiguous, wrong_warehouse, overweight,
underweight, cancelled, customs_hold. Gate-out outcomes: shipped, not_released, duplicate,
unknown, ambiguous, wrong_warehouse, cancelled. A bag label judges every parcel in the bag in
one scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, col, or_, select

from kit import outbox
from kit.auth import Principal
from kit.errors import ValidationFailed
from kit.settings import get_settings
from warehouses.floor import repo
from warehouses.floor.repo import ParcelView
from warehouses.models import Order, Parcel
from warehouses.schemas import ScanIn, ScanItem, ScanOut

# Customs has stopped the parcel: held (501–503, 599), rejected (100), under review or inspection.
HOLD_STATES = frozenset({"rejected", "held", "returned", "manual_review", "inspection"})
# Outcomes that leave a parcel in the warehouse's exception queue until someone acts.
QUEUED = frozenset(
    {"unknown", "ambiguous", "wrong_warehouse", "overweight", "underweight", "cancelled"}
)
# The order of severity when one bag holds parcels with different outcomes.
SEVERITY = (
    "customs_hold",
    "not_released",
    "cancelled",
    "wrong_warehouse",
    "ambiguous",
    "unknown",
    "overweight",
    "underweight",
    "duplicate",
    "matched",
    "shipped",
)


@dataclass
class Verdict:
    """The judgement on one parcel (or on a code that named none)."""

    outcome: str
    message: str
    parcel: ParcelView | None = None
    details: dict[str, str] = field(default_factory=dict)

    def item(self) -> ScanItem:
        parcel = self.parcel
        return ScanItem(
            outcome=self.outcome,
            message=self.message,
            order_no=parcel.order_no if parcel else None,
            parcel_id=parcel.id if parcel else None,
            tracking_no=parcel.tracking_no if parcel else None,
            details=self.details,
        )


def find_parcel(session: Session, code: str) -> tuple[Parcel, Order] | None:
    """The parcel a code names: its inbound tracking number, waybill, or its order number."""
    query = (
        select(Parcel, Order)
        .join(Order, col(Order.id) == col(Parcel.order_id))
        .where(
            or_(
                col(Parcel.tracking_no) == code,
                col(Parcel.waybill_no) == code,
                col(Order.order_no) == code,
            )
        )
    )
    row = session.exec(query).first()
    return (row[0], row[1]) if row else None


def _weight_outcome(parcel: ParcelView, weight: Decimal | None) -> str | None:
    if weight is None or parcel.expected_weight_kg <= 0:
        return None
    tolerance = Decimal(str(get_settings().weight_tolerance))
    ratio = weight / parcel.expected_weight_kg
    if ratio > 1 + tolerance:
        return "overweight"
    if ratio < 1 - tolerance:
        return "underweight"
    return None


def _duplicate(session: Session, parcel: ParcelView, kind: str) -> Verdict:
    previous = repo.previous_scan(session, parcel.id, kind)
    if previous is None:
        return Verdict("duplicate", f"Already handled: {parcel.floor_state}", parcel)
    when = f"{previous.scanned_at:%H:%M:%S}"
    return Verdict(
        "duplicate",
        f"Already scanned by {previous.actor} at {previous.station}, {when} UTC",
        parcel,
        {"by": previous.actor, "station": previous.station, "at": previous.scanned_at.isoformat()},
    )


def _blocked(parcel: ParcelView, wh_id: int) -> Verdict | None:
    """Refusals shared by inbound and gate-out: another warehouse's parcel, a cancelled order."""
    if parcel.warehouse_id != wh_id:
        home = parcel.warehouse_code
        details = {"belongs_to": home}
        return Verdict("wrong_warehouse", f"Belongs to warehouse {home}", parcel, details)
    if parcel.order_status == "cancelled" or parcel.customs_state == "cancelled":
        return Verdict("cancelled", f"Order {parcel.order_no} was cancelled", parcel)
    return None


def judge_inbound(
    session: Session, parcel: ParcelView, wh_id: int, weight: Decimal | None
) -> Verdict:
    blocked = _blocked(parcel, wh_id)
    if blocked:
        return blocked
    if parcel.customs_state in HOLD_STATES:
        return Verdict("customs_hold", f"Customs: {parcel.customs_state}", parcel)
    if parcel.floor_state not in repo.RECEIVABLE:
        return _duplicate(session, parcel, "inbound")
    heavy = _weight_outcome(parcel, weight)
    if heavy:
        expected = f"{parcel.expected_weight_kg:.3f}"
        message = f"{heavy.capitalize()}: {weight} kg, expected {expected} kg"
        return Verdict(heavy, message, parcel, {"expected_kg": expected, "weight_kg": str(weight)})
    return Verdict("matched", f"Matched order {parcel.order_no}", parcel)


def judge_gate(session: Session, parcel: ParcelView, wh_id: int) -> Verdict:
    blocked = _blocked(parcel, wh_id)
    if blocked:
        return blocked
    if parcel.floor_state == "shipped":
        return _duplicate(session, parcel, "gate_out")
    if parcel.floor_state in ("returning", "disposed"):
        message = f"Marked {parcel.floor_state} by the exception queue — it must not leave here"
        return Verdict("not_released", message, parcel, {"floor_state": parcel.floor_state})
    if parcel.customs_state != "released":
        state = parcel.customs_state
        message = f"NOT RELEASED by customs (state: {state}) — parcel must stay"
        return Verdict("not_released", message, parcel, {"customs_state": state})
    return Verdict("shipped", f"Released (800): order {parcel.order_no} may leave", parcel)


def _judge(session: Session, parcel: ParcelView, wh_id: int, data: ScanIn) -> Verdict:
    if data.mode == "gate_out":
        return judge_gate(session, parcel, wh_id)
    return judge_inbound(session, parcel, wh_id, data.weight_kg)


def _pick(parcels: list[ParcelView], wh_id: int) -> ParcelView | None:
    """The one parcel a code names: this warehouse's (codes are unique per warehouse, but an
    order number may repeat at another); None when the code names several, as data from
    before that rule may, and no parcel may be guessed."""
    here = [p for p in parcels if p.warehouse_id == wh_id]
    candidates = here or parcels
    return candidates[0] if len(candidates) == 1 else None


def _ambiguous(code: str, count: int) -> Verdict:
    message = f"{code} names {count} orders: set aside for a person to decide"
    return Verdict("ambiguous", message, details={"orders": str(count)})


def _claim(session: Session, verdict: Verdict, data: ScanIn) -> Verdict:
    """Apply a winning verdict to the parcel; a concurrent scan that won first makes it a repeat."""
    parcel = verdict.parcel
    if parcel is None or verdict.outcome not in ("matched", "shipped"):
        return verdict
    if verdict.outcome == "matched":
        weight = data.weight_kg or parcel.expected_weight_kg
        if repo.claim_received(session, parcel.id, weight):
            return verdict
        return _duplicate(session, parcel, "inbound")
    if repo.claim_shipped(session, parcel.id):
        return verdict
    return _duplicate(session, parcel, "gate_out")


def _scan_row(
    data: ScanIn, wh_id: int, verdict: Verdict, principal: Principal
) -> dict[str, object]:
    return {
        "warehouse_id": wh_id,
        "station": data.station,
        "code": data.code,
        "weight_kg": data.weight_kg,
        "outcome": verdict.outcome,
        "parcel_id": verdict.parcel.id if verdict.parcel else None,
        "actor": principal.actor,
        "kind": data.mode,
        "message": verdict.message[:200],
    }


def _follow_up(
    session: Session, verdict: Verdict, scan_id: int, wh_id: int, data: ScanIn, actor: str
) -> None:
    """What a logged verdict sets off: the match or gate-out event, or an exception to queue."""
    parcel = verdict.parcel
    if parcel is not None and verdict.outcome in ("matched", "shipped"):
        if verdict.outcome == "matched" and parcel.floor_state == "exception":
            repo.resolve_open_exceptions(session, parcel.id, "rescanned", actor)
        topic = "parcel.matched" if verdict.outcome == "matched" else "parcel.shipped"
        payload = {"parcel_id": parcel.id, "station": data.station, "warehouse": data.warehouse}
        outbox.record(
            session,
            topic,
            ("order", parcel.order_id),
            actor=actor,
            source=f"scan:{scan_id}",
            payload=payload,
        )
    elif verdict.outcome == "ambiguous" or (data.mode == "inbound" and verdict.outcome in QUEUED):
        _queue_exception(session, verdict, scan_id, wh_id, data.code)


def _queue_exception(
    session: Session, verdict: Verdict, scan_id: int, wh_id: int, code: str
) -> None:
    parcel = verdict.parcel
    parcel_id = parcel.id if parcel else None
    if repo.open_exception_for(session, wh_id, parcel_id, code) is not None:
        return
    row = {"warehouse_id": wh_id, "scan_id": scan_id, "code": code, "reason": verdict.outcome}
    repo.insert_exception(session, {**row, "parcel_id": parcel_id})
    if parcel is not None and parcel.warehouse_id == wh_id:
        repo.set_floor_state(session, parcel.id, "exception")


def _log(session: Session, verdict: Verdict, wh_id: int, data: ScanIn, principal: Principal) -> int:
    scan_id = repo.insert_scan(
        session,
        {**_scan_row(data, wh_id, verdict, principal), "client_scan_id": data.client_scan_id},
    )
    _follow_up(session, verdict, scan_id, wh_id, data, principal.actor)
    return scan_id


def _single(
    session: Session, parcels: list[ParcelView], wh_id: int, data: ScanIn, principal: Principal
) -> ScanOut:
    picked = _pick(parcels, wh_id)
    if picked is not None:
        verdict = _claim(session, _judge(session, picked, wh_id, data), data)
    elif parcels:
        verdict = _ambiguous(data.code, len(parcels))
    else:
        verdict = Verdict("unknown", f"No order for {data.code}")
    scan_id = _log(session, verdict, wh_id, data, principal)
    item = verdict.item()
    return ScanOut(scan_id=scan_id, **item.model_dump(exclude={"tracking_no"}), items=[item])


def _worst(verdicts: list[Verdict]) -> str:
    return min((v.outcome for v in verdicts), key=SEVERITY.index, default="unknown")


def _bag(
    session: Session, bag: tuple[int, int], wh_id: int, data: ScanIn, principal: Principal
) -> ScanOut:
    bag_id, _home = bag
    parcels = repo.parcels_in_bag(session, bag_id)
    verdicts = [_claim(session, _judge(session, p, wh_id, data), data) for p in parcels]
    outcome = _worst(verdicts)
    counts = {o: sum(v.outcome == o for v in verdicts) for o in SEVERITY}
    summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    message = f"Bag {data.code}: {len(verdicts)} parcels — {summary or 'empty'}"
    parent = Verdict(outcome, message)
    row = {**_scan_row(data, wh_id, parent, principal), "bag_id": bag_id}
    scan_id = repo.insert_scan(session, {**row, "client_scan_id": data.client_scan_id})
    for verdict in verdicts:
        child = {**_scan_row(data, wh_id, verdict, principal), "parent_scan_id": scan_id}
        child_id = repo.insert_scan(session, {**child, "bag_id": bag_id})
        _follow_up(session, verdict, child_id, wh_id, data, principal.actor)
    items = [v.item() for v in verdicts]
    details = {"bag": data.code, "parcels": str(len(items))}
    return ScanOut(scan_id=scan_id, outcome=outcome, message=message, details=details, items=items)


def _replay(session: Session, scan: repo.EarlierScan) -> ScanOut:
    children = repo.children_of(session, scan.id)
    items = [
        ScanItem(outcome=c.outcome, message=c.message or "", parcel_id=c.parcel_id)
        for c in children
    ]
    return ScanOut(
        scan_id=scan.id,
        outcome=scan.outcome,
        message=scan.message or "",
        parcel_id=scan.parcel_id,
        items=items,
        replayed=True,
    )


def warehouse_id_of(session: Session, code: str) -> int:
    wh_id = repo.warehouse_id(session, code)
    if wh_id is None:
        raise ValidationFailed.one("warehouse", "unknown_warehouse", f"no warehouse {code}")
    return wh_id


def scan(session: Session, data: ScanIn, principal: Principal) -> ScanOut:
    """Judge, log and act on one scan; idempotent per warehouse, station and client scan id."""
    principal.require_warehouse(data.warehouse)
    if data.client_scan_id:
        earlier = repo.replayed_scan(session, data.warehouse, data.station, data.client_scan_id)
        if earlier is not None:
            return _replay(session, earlier)
    parcels = repo.parcels_by_code(session, data.code)
    home = next((p for p in parcels if p.warehouse_code == data.warehouse), None)
    wh_id = home.warehouse_id if home else warehouse_id_of(session, data.warehouse)
    if not parcels:
        bag = repo.bag_by_label(session, data.code)
        if bag is not None:
            return _bag(session, bag, wh_id, data, principal)
    return _single(session, parcels, wh_id, data, principal)


def scan_many(session: Session, scans: list[ScanIn], principal: Principal) -> list[ScanOut]:
    """Judge buffered scans in order, in one transaction; a station's access is checked first
    for all of them, so a batch is taken whole or not at all."""
    for data in scans:
        principal.require_warehouse(data.warehouse)
    return [scan(session, data, principal) for data in scans]


def scan_inbound(session: Session, data: ScanIn, principal: Principal) -> ScanOut:
    """An inbound scan (kept for callers that predate gate-out)."""
    return scan(session, data.model_copy(update={"mode": "inbound"}), principal)
