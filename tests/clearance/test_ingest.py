"""Receipt ingestion in batches: raw storage, de-duplication, newest-wins, events, refusals."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

from lxml import etree
from sqlalchemy import func, select
from sqlmodel import col

from clearance.gateway.exchange import gateway
from clearance.gateway.folder import atomic_write
from clearance.pipeline.jobs import ingest_batch, ingest_receipts
from clearance.pipeline.models import ClearanceCase, CustomsMessage, Receipt
from clearance.simulator.loadgen import (
    expected_states,
    receipts_for,
    seed_submitted_cases,
    unique_count,
    write_receipts,
)
from declarations.codes import CEB_NS
from declarations.receipts import Receipt as Parsed
from declarations.receipts import TaxBill, build_ceb622, build_ceb816, build_receipts
from kit.db import session_scope
from kit.outbox import Event
from kit.settings import get_settings
from tests.conftest import Stack
from warehouses.models import Parcel

FILE_GUID = "F6220000-0000-4000-8000-000000000001"


def _seed(count: int, run: str = "L") -> list[Parsed]:
    with session_scope() as session:
        cases = seed_submitted_cases(session, count, run=run)
    return receipts_for(cases)


def final_states() -> dict[str, str]:
    with session_scope() as session:
        rows = session.execute(select(col(ClearanceCase.cop_no), col(ClearanceCase.state)))
        return dict(rows.tuples().all())


def stored_receipts() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def test_every_receipt_twice_and_shuffled_ends_as_a_clean_run(stack: Stack) -> None:
    receipts = _seed(60)
    doubled = receipts + [
        Parsed(r.message_type, r.guid, r.return_status, r.return_time, r.return_info, r.keys)
        for r in receipts
    ]
    random.Random(5).shuffle(doubled)
    folder = gateway().receive_dir
    write_receipts(folder, doubled[: len(receipts)])
    first = ingest_receipts()
    write_receipts(folder, doubled[len(receipts) :])
    second = ingest_receipts()
    lost = unique_count(receipts) - stored_receipts()
    assert lost == 0
    assert first.get("duplicate", 0) + second.get("duplicate", 0) == len(receipts)
    assert final_states() == expected_states(receipts)
    assert list(gateway().receive_dir.iterdir()) == []


def test_clean_run_one_file_at_a_time_matches_expected_states(stack: Stack) -> None:
    receipts = _seed(25)
    exchange = gateway()
    totals: Counter[str] = Counter()
    for receipt in receipts:
        write_receipts(exchange.receive_dir, [receipt])
        ingest_batch(exchange, 1, totals)
    assert totals == Counter(applied=len(receipts))
    assert final_states() == expected_states(receipts)


def test_a_file_of_many_receipts_keeps_each_ones_own_xml_and_one_alone_the_whole_file(
    stack: Stack,
) -> None:
    receipts = _seed(2)
    folder = gateway().receive_dir
    atomic_write(
        folder, "CEB622_MANY.xml", build_ceb622(receipts[:4], guid=FILE_GUID), durable=False
    )
    alone = write_receipts(folder, receipts[4:5])[0].read_text(encoding="utf-8")
    ingest_receipts()
    columns = (Receipt.guid, Receipt.return_time, Receipt.raw, Receipt.file_name)
    with session_scope() as session:
        rows = session.execute(select(*(col(c) for c in columns))).tuples().all()
    raw_of = {(guid, when): (raw, name) for guid, when, raw, name in rows}
    for receipt in receipts[:4]:
        raw, name = raw_of[(receipt.guid, receipt.return_time)]
        element = etree.fromstring(raw.encode())
        assert name == "CEB622_MANY.xml" and etree.QName(element).localname == "InventoryReturn"
        assert element.findtext(f"{{{CEB_NS}}}returnTime") == receipt.return_time
    assert raw_of[(receipts[4].guid, receipts[4].return_time)][0] == alone


def test_older_receipt_is_stored_but_not_applied(stack: Stack) -> None:
    receipts = [r for r in _seed(1) if r.return_status in (120, 800)]
    newest, older = sorted(receipts, key=lambda r: r.return_time, reverse=True)
    write_receipts(gateway().receive_dir, [newest])
    ingest_receipts()
    write_receipts(gateway().receive_dir, [older])
    assert ingest_receipts() == {"stale": 1}
    with session_scope() as session:
        case = session.scalars(select(ClearanceCase)).one()
        parcel = session.get(Parcel, case.parcel_id)
        outcomes = sorted(session.scalars(select(col(Receipt.outcome))))
    assert (case.state, case.last_status, outcomes) == ("released", 800, ["applied", "stale"])
    assert parcel is not None and parcel.customs_state == "released"


def test_each_move_is_an_event_with_receipt_source_and_meaning(stack: Stack) -> None:
    receipts = [r for r in _seed(1) if r.return_status in (2, 120, 399, 800)]
    write_receipts(gateway().receive_dir, receipts)
    ingest_receipts()
    with session_scope() as session:
        events = list(session.scalars(select(Event).order_by(col(Event.id))))
    moves = [(e.topic, e.payload.get("from"), e.payload.get("to")) for e in events]
    assert moves[-4:] == [
        ("clearance.declared_to_eport", "submitted", "declared_to_eport"),
        ("clearance.accepted", "declared_to_eport", "accepted"),
        ("clearance.cleared", "accepted", "cleared"),
        ("clearance.released", "cleared", "released"),
    ]
    released = events[-1]
    assert released.actor == "customs"
    assert released.source is not None and released.source.startswith("receipt:")
    assert (released.payload["meaning_zh"], released.payload["meaning_en"]) == ("放行", "Released")


def test_unreadable_and_hostile_files_are_set_aside_with_a_reason(stack: Stack) -> None:
    folder = gateway().receive_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garbage.xml").write_bytes(b"<not-closed")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    (folder / "entity.xml").write_bytes(bomb)
    assert ingest_receipts() == {"refused": 2}
    errors = gateway().error_dir
    assert sorted(p.name for p in errors.iterdir() if p.suffix == ".xml") == [
        "entity.xml",
        "garbage.xml",
    ]
    assert stored_receipts() == 0


def test_receipt_for_unknown_declaration_is_kept_unmatched(stack: Stack) -> None:
    receipts = _seed(1)
    stranger = Parsed("CEB622", "X" * 36, 2, "20261129090000000", "", {"copNo": "CWNOPE"})
    write_receipts(gateway().receive_dir, [stranger, *receipts[:1]])
    assert ingest_receipts() == {"unmatched": 1, "applied": 1}


def test_schema_failure_ceb900_rejects_the_declaration_it_answers(stack: Stack) -> None:
    with session_scope() as session:
        seeded = seed_submitted_cases(session, 1)
        case = session.scalars(select(ClearanceCase)).one()
        assert case.id is not None
        session.add(
            CustomsMessage(case_id=case.id, message_type="CEB621", guid=seeded[0].guid, xml="<x/>")
        )
    failure = Parsed("CEB900", seeded[0].guid, -1, "20261129090000000", "报文校验失败", {})
    folder = gateway().receive_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CEB900_1.xml").write_bytes(build_receipts("CEB900", [failure], guid="F" * 36))
    assert ingest_receipts() == {"applied": 1}
    assert final_states() == {seeded[0].cop_no: "rejected"}


def test_tax_bill_is_archived_not_refused(stack: Stack) -> None:
    bill = TaxBill(
        guid="T" * 36,
        return_time="20261129090000000",
        invt_no="29282026I000000001",
        tax_no="2928202600000001",
        customs_tax=Decimal("0"),
        value_added_tax=Decimal("9.10"),
        consumption_tax=Decimal("0"),
        status="1",
        keys={},
        lines=(),
    )
    folder = gateway().receive_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CEB816_1.xml").write_bytes(build_ceb816([bill], guid="G" * 36))
    assert ingest_receipts() == {"tax_bill": 1}
    archived = list((get_settings().archive_dir / "received").rglob("CEB816_1.xml"))
    assert len(archived) == 1 and not gateway().error_dir.exists()


def test_a_receipt_file_with_an_over_long_name_is_set_aside(stack: Stack) -> None:
    receipts = _seed(1)
    folder = gateway().receive_dir
    write_receipts(folder, receipts)
    written = sorted(folder.iterdir())[0]
    long_name = "R" * 246 + ".xml"  # its .reason.txt would pass 255 bytes
    written.rename(folder / long_name)
    assert ingest_receipts().get("refused") == 1
    names = [p.name for p in gateway().error_dir.iterdir()]
    assert long_name in names and any(n.endswith(".reason.txt") for n in names)
