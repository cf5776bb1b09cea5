"""Synthetic load for drills, fault tests and the bench: many submitted cases at once, and the
receipts customs would send for them, written as files into a receive folder."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlmodel import Session

from clearance.gateway.folder import atomic_write
from clearance.pipeline.cases import cop_no_for
from clearance.pipeline.ingest import key_of
from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.state import state_for_status, status_rank
from declarations.fmt import CHINA_TZ, return_time
from declarations.receipts import Receipt, build_ceb622
from kit.auth import SYSTEM
from kit.outbox import utcnow
from warehouses.demo import demo_order
from warehouses.intake.service import create_order
from warehouses.models import Order, Parcel

# Receipt sequences customs sends (cbec-facts §3.2), with how often each occurs in the drill.
PATHS: tuple[tuple[float, tuple[int, ...]], ...] = (
    (0.80, (2, 120, 399, 800)),
    (0.07, (2, 120, 300, 399, 800)),
    (0.05, (2, 120, 500, 399, 800)),
    (0.05, (100,)),
    (0.03, (2, 120, 501)),
)


@dataclass(frozen=True)
class SeededCase:
    cop_no: str
    guid: str
    customs_code: str


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def _template(session: Session, warehouse: str, run: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One real order through intake, whose rows the clones copy (valid by construction)."""
    # A buyer drawn per run, so repeated drills stay under the buyer's annual limit.
    rng = random.Random(run)
    order = create_order(session, demo_order(rng, rng.randrange(10**6), warehouse, run), SYSTEM)
    session.flush()
    orders, parcels = _table(Order), _table(Parcel)
    order_row = dict(
        session.execute(select(orders).where(orders.c.id == order.id)).mappings().one()
    )
    parcel_row = session.execute(select(parcels).where(parcels.c.order_id == order.id))
    return order_row, dict(parcel_row.mappings().one())


def seed_submitted_cases(
    session: Session, count: int, *, warehouse: str = "HZ", run: str = "L"
) -> list[SeededCase]:
    """`count` orders with parcels and cases already submitted to customs, in bulk."""
    order_row, parcel_row = _template(session, warehouse, run)
    orders = [
        {**order_row, "id": None, "order_no": f"{run}{i:08d}", "idempotency_key": None}
        for i in range(count)
    ]
    orders = [{k: v for k, v in row.items() if k != "id"} for row in orders]
    statement = insert(_table(Order)).returning(_table(Order).c.id, sort_by_parameter_order=True)
    order_ids = list(session.execute(statement, orders).scalars())
    parcels = [_parcel(parcel_row, order_id, run, i) for i, order_id in enumerate(order_ids)]
    statement = insert(_table(Parcel)).returning(_table(Parcel).c.id, sort_by_parameter_order=True)
    parcel_ids = list(session.execute(statement, parcels).scalars())
    cases = [
        _case(order_id, parcel_id, order_row["warehouse_id"], warehouse)
        for order_id, parcel_id in zip(order_ids, parcel_ids, strict=True)
    ]
    session.execute(insert(_table(ClearanceCase)), cases)
    guid = str(uuid.uuid4()).upper()[:-8]
    return [SeededCase(c["cop_no"], f"{guid}{i:08d}", "2928") for i, c in enumerate(cases)]


def _parcel(template: dict[str, Any], order_id: int, run: str, index: int) -> dict[str, Any]:
    row = {k: v for k, v in template.items() if k != "id"}
    row.update(
        order_id=order_id,
        tracking_no=f"{run}T{index:08d}",
        waybill_no=f"{run}W{index:08d}",
        floor_state="received",
        customs_state="submitted",
        matched_at=utcnow(),
    )
    return row


def _case(order_id: int, parcel_id: int, warehouse_id: int, code: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "order_id": order_id,
        "parcel_id": parcel_id,
        "warehouse_id": warehouse_id,
        "state": "submitted",
        "cop_no": cop_no_for(code, order_id),
        "state_since": now,
        "created_at": now,
    }


def _path(rng: random.Random) -> tuple[int, ...]:
    roll, total = rng.random(), 0.0
    for share, statuses in PATHS:
        total += share
        if roll < total:
            return statuses
    return PATHS[0][1]


def receipts_for(cases: list[SeededCase], *, seed: int = 622) -> list[Receipt]:
    """Every receipt customs would send for these cases, in the order it would send them."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 29, 9, 0, 0, tzinfo=CHINA_TZ)
    receipts = []
    for index, case in enumerate(cases):
        for step, status in enumerate(_path(rng), start=1):
            stamp = return_time(start + timedelta(seconds=index, milliseconds=100 * step))
            keys = {"copNo": case.cop_no, "customsCode": case.customs_code}
            if status != 100:
                keys["preNo"] = f"B20261129{index:09d}"
            if status >= 120:
                keys["invtNo"] = f"{case.customs_code}2026I{index:09d}"
            info = (
                "[Code:1800;Desc:逻辑校验通过]"
                if status != 100
                else "[Code:1300;Desc:订购人证件号码与姓名不符]"
            )
            receipts.append(Receipt("CEB622", case.guid, status, stamp, info, keys))
    return receipts


def write_receipts(receive_dir: Path, receipts: list[Receipt]) -> list[Path]:
    """One CEB622 file per receipt, named as the transfer client names them."""
    paths = []
    for receipt in receipts:
        file_guid = str(uuid.uuid4()).upper()
        name = f"CEB622_{receipt.keys['copNo']}_{receipt.return_time}_{file_guid[:8]}.xml"
        data = build_ceb622([receipt], guid=file_guid)
        paths.append(atomic_write(receive_dir, name, data, durable=False))
    return paths


def expected_states(receipts: list[Receipt]) -> dict[str, str]:
    """The state each case ends in once every receipt is applied: the newest one decides."""
    newest: dict[str, Receipt] = {}
    for receipt in receipts:
        cop_no = receipt.keys["copNo"]
        held = newest.get(cop_no)
        if held is None or _order(receipt) > _order(held):
            newest[cop_no] = receipt
    return {cop: state_for_status(r.return_status) or "submitted" for cop, r in newest.items()}


def _order(receipt: Receipt) -> tuple[str, int]:
    return (receipt.return_time, status_rank(receipt.return_status))


def unique_count(receipts: list[Receipt]) -> int:
    return len({key_of(r) for r in receipts})
