"""The customs simulator over real folders: schema failures, each business failure with its own
reason, the release sequence with review/inspection/hold, fix-and-resubmit, cancel and return."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.gateway.folder import atomic_write
from clearance.simulator.customs import CustomsSimulator, Rates
from declarations import envelope, samples
from declarations.build import change_of
from declarations.fmt import CHINA_TZ
from declarations.model import Document, Inventory
from declarations.receipts import Receipt, parse_receipts
from declarations.receipts import open_file as receipts_open_file
from declarations.render import render
from declarations.validate import validate
from kit.settings import Settings

FIXED_GUID = "F1000000-0000-4000-8000-000000000001"


class Customs:
    """A simulator on two temporary folders, driven step by step (no delays)."""

    def __init__(self, tmp_path: Path, **options: object) -> None:
        self.send_dir, self.receive_dir = tmp_path / "send", tmp_path / "receive"
        self.sim = CustomsSimulator(self.send_dir, self.receive_dir, delay_s=0, **options)  # type: ignore[arg-type]
        self.count = 0

    def send(self, doc: Document, *, wrapped: bool = False) -> None:
        data = render(doc, samples.transfer())
        if wrapped:
            data = envelope.wrap(data, message_type="CEB621", sender_id="DXPENTDEMO00HZ01")
        self.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        self.count += 1
        atomic_write(self.send_dir, f"M{self.count:05d}.xml", data)

    def answers(self) -> list[Receipt]:
        """Everything customs answers until it has nothing left to say, oldest first; every file
        is checked against its receipt XSD."""
        while self.sim.step() or self.sim.pending:
            pass
        receipts = []
        for path in sorted(self.receive_dir.glob("*.xml")):
            assert validate(receipts_open_file(path.read_bytes())) == [], path.name
            receipts += parse_receipts(path.read_bytes())
            path.unlink()
        return sorted(receipts, key=lambda r: r.return_time)


def assert_customs_wording(info: str) -> None:
    """Free Chinese text as customs writes it: no XML element names, no problem codes."""
    assert not re.search(r"\([a-z_]+\)|[a-z][A-Z]", info), info
    assert info.endswith("]") and "订单编号：" in info, info


def statuses(receipts: list[Receipt], message_type: str = "CEB622") -> list[int]:
    return [r.return_status for r in receipts if r.message_type == message_type]


def inventory(n: int, price: str, qty: int = 1, **changes: object) -> Inventory:
    """Inventory n of the sample buyer: one line of qty × price, no freight."""
    line = dataclasses.replace(
        samples.inventory_line(),
        qty=Decimal(qty),
        price=Decimal(price),
        total_price=Decimal(price) * qty,
    )
    fields: dict[str, object] = {
        "guid": f"{n:08X}-0000-4000-8000-000000000621",
        "cop_no": f"CW{n:010d}",
        "order_no": f"TM{n:010d}",
        "logistics_no": f"YTN{n:09d}",
        "lines": (line,),
        "freight": Decimal(0),
    }
    return samples.inventory(**{**fields, **changes})


@pytest.fixture
def customs(tmp_path: Path) -> Customs:
    return Customs(tmp_path)


@pytest.fixture
def strict(tmp_path: Path) -> Customs:
    return Customs(tmp_path, require_documents=True)


def test_valid_inventory_is_released_with_numbers(customs: Customs) -> None:
    customs.send(samples.inventory())
    receipts = customs.answers()
    assert statuses(receipts) == [2, 120, 399, 800]
    released = receipts[-1]
    assert released.guid == samples.inventory().guid
    assert released.keys["copNo"] == samples.inventory().cop_no
    assert released.keys["invtNo"].startswith("2928") and "I" in released.keys["invtNo"]
    assert len(released.keys["preNo"]) == 18 and released.keys["preNo"].startswith("B")
    assert "invtNo" not in receipts[0].keys
    times = [r.return_time for r in receipts]
    assert times == sorted(set(times)) and all(len(t) == 17 for t in times)


def test_three_documents_then_inventory_are_all_accepted(strict: Customs) -> None:
    for doc in (samples.order(), samples.payment(), samples.waybill()):
        strict.send(doc)
    first = strict.answers()
    assert statuses(first, "CEB312") == statuses(first, "CEB412") == [2, 120]
    assert statuses(first, "CEB512") == [2, 120]
    strict.send(samples.inventory())
    assert statuses(strict.answers()) == [2, 120, 399, 800]


def test_a_concluded_inventory_keeps_only_what_cancels_and_returns_need(strict: Customs) -> None:
    for doc in (samples.order(), samples.payment(), samples.waybill(), samples.inventory()):
        strict.send(doc)
    strict.answers()
    sim = strict.sim
    assert (sim.orders, sim.payments, sim.waybills, sim.waybill_of_order) == ({}, {}, {}, {})
    filed = sim.register.get(samples.inventory().cop_no)
    assert filed is not None and filed.status == 800 and set(filed.lines) == {1}


def test_schema_failure_gets_a_ceb900_naming_the_field(customs: Customs) -> None:
    customs.send(samples.inventory(order_no="X" * 61))
    (receipt,) = customs.answers()
    assert receipt.message_type == "CEB900"
    assert receipt.guid == samples.inventory().guid
    assert receipt.return_status < 0
    assert "orderNo" in receipt.return_info and "too long" in receipt.return_info


def test_unreadable_and_hostile_files_get_ceb900_and_the_simulator_goes_on(
    customs: Customs,
) -> None:
    customs.send_raw(b"not xml at all")
    customs.send_raw(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    customs.send(samples.inventory())
    receipts = customs.answers()
    assert [r.message_type for r in receipts].count("CEB900") == 2
    assert statuses(receipts) == [2, 120, 399, 800]


OVER_LIMIT = inventory(7, "2500.00", qty=2, freight=Decimal("0.01"))


@pytest.mark.parametrize(
    ("inv", "code"),
    [
        (samples.inventory(buyer_id_number="110105194912310021"), "订购人身份证件号码校验不通过"),
        (OVER_LIMIT, "超过单次交易限值5000元"),
        (samples.inventory(ems_no=None), "账册编号不能为空"),
        (samples.inventory(bill_no="999-12345675"), "保税进口不应填写提运单号"),
        (samples.inventory(assure_code="SOMEONEELSE"), "担保企业应为电商平台、电商企业或物流企业"),
        (samples.inventory(net_weight=Decimal("9")), "净重大于毛重"),
    ],
    ids=["id-check-digit", "over-5000", "no-emsNo", "billNo-in-1210", "guarantor", "weights"],
)
def test_each_business_failure_is_rejected_with_its_reason(
    customs: Customs, inv: Inventory, code: str
) -> None:
    customs.send(inv)
    receipts = customs.answers()
    assert statuses(receipts) == [2, 100]
    assert code in receipts[-1].return_info
    assert_customs_wording(receipts[-1].return_info)


@pytest.mark.parametrize(
    ("documents", "code"),
    [
        (
            (
                samples.order(buyer_name="王五"),
                samples.payment(payer_name="王五"),
                samples.waybill(),
            ),
            "清单与订单订购人姓名不一致",
        ),
        (
            (samples.order(), samples.payment(amount_paid=Decimal("530.00")), samples.waybill()),
            "支付金额与订单实际支付金额不一致",
        ),
        (
            (samples.order(), samples.payment(payer_name="赵六"), samples.waybill()),
            "支付单与订单支付人姓名不一致",
        ),
        (
            (samples.order(), samples.payment(), samples.waybill(consignee="钱七")),
            "运单与订单收货人不一致",
        ),
        (
            (samples.order(), samples.payment(), samples.waybill(logistics_no="YT999")),
            "清单与运单物流运单编号不一致",
        ),
        ((samples.order(), samples.waybill()), "未收到支付单"),
    ],
    ids=["buyer-name", "amount", "payer", "consignee", "waybill-no", "no-payment"],
)
def test_three_document_failures_are_rejected_with_their_reason(
    strict: Customs, documents: tuple[Document, ...], code: str
) -> None:
    for doc in documents:
        strict.send(doc)
    strict.answers()
    strict.send(samples.inventory())
    receipts = strict.answers()
    assert statuses(receipts) == [2, 100]
    assert code in receipts[-1].return_info
    assert_customs_wording(receipts[-1].return_info)


def test_without_documents_the_strict_simulator_names_each_missing_one(strict: Customs) -> None:
    strict.send(samples.inventory())
    info = strict.answers()[-1].return_info
    assert "未收到订单" in info and "未收到支付单" in info and "未收到运单" in info


def test_buyer_crossing_26000_in_december_is_refused_and_january_starts_afresh(
    customs: Customs,
) -> None:
    december = datetime(2026, 12, 30, 9, 0, tzinfo=CHINA_TZ)
    for n in range(1, 6):
        customs.send(inventory(n, "4900.00", app_time=december))  # 24,500 this year
    customs.send(inventory(6, "1000.00", app_time=december))  # 25,500
    assert statuses(customs.answers()).count(800) == 6
    customs.send(inventory(7, "600.00", app_time=december.replace(day=31)))
    refused = customs.answers()
    assert (
        statuses(refused) == [2, 100] and "超过个人年度交易限值26000元" in refused[-1].return_info
    )
    customs.send(inventory(8, "600.00", app_time=datetime(2027, 1, 1, 0, 5, tzinfo=CHINA_TZ)))
    assert statuses(customs.answers()) == [2, 120, 399, 800]


def test_single_indivisible_item_over_5000_goes_through(customs: Customs) -> None:
    customs.send(inventory(9, "6800.00"))
    assert statuses(customs.answers()) == [2, 120, 399, 800]


def test_broker_fixes_a_rejected_inventory_and_resubmits_to_release(strict: Customs) -> None:
    for doc in (samples.order(), samples.payment(), samples.waybill()):
        strict.send(doc)
    strict.answers()
    wrong = samples.inventory(buyer_name="张叁")
    strict.send(wrong)
    rejected = strict.answers()
    assert statuses(rejected) == [2, 100] and "订购人姓名" in rejected[-1].return_info
    fixed = change_of(wrong, guid=FIXED_GUID, app_time=samples.AT, buyer_name="张三")
    strict.send(fixed)
    released = strict.answers()
    assert statuses(released) == [2, 120, 399, 800]
    assert released[-1].guid == FIXED_GUID
    assert released[-1].keys["preNo"] == rejected[0].keys["preNo"]


def test_duplicate_and_late_changes_are_refused(customs: Customs) -> None:
    customs.send(samples.inventory())
    customs.answers()
    customs.send(samples.inventory(guid=FIXED_GUID))
    assert "清单重复申报" in customs.answers()[-1].return_info
    customs.send(change_of(samples.inventory(), guid=FIXED_GUID, app_time=samples.AT))
    assert "清单已审结，不能变更" in customs.answers()[-1].return_info


def test_review_inspection_and_hold_rates(tmp_path: Path) -> None:
    always = Customs(tmp_path / "a", rates=Rates(review=1, inspection=1, hold=0))
    always.send(samples.inventory())
    assert statuses(always.answers()) == [2, 120, 300, 500, 399, 800]
    held = Customs(tmp_path / "b", rates=Rates(review=0, inspection=1, hold=1))
    held.send(samples.inventory())
    path = statuses(held.answers())
    assert path[:3] == [2, 120, 500] and path[-1] in (501, 502, 503, 599) and 800 not in path


def test_same_seed_same_story(tmp_path: Path) -> None:
    stories = []
    for run in ("a", "b"):
        customs = Customs(tmp_path / run, seed=7, rates=Rates(0.3, 0.3, 0.5))
        for n in range(1, 21):
            customs.send(inventory(n, "100.00"))
        receipts = customs.answers()
        stories.append(sorted((r.keys["copNo"], r.return_status) for r in receipts))
    assert stories[0] == stories[1]
    assert {status for _, status in stories[0]} > {2, 120, 399, 800}


def test_cancel_of_an_accepted_inventory_and_of_an_unknown_one(customs: Customs) -> None:
    customs.send(samples.inventory())
    invt_no = customs.answers()[-1].keys["invtNo"]
    customs.send(samples.cancel(samples.inventory(invt_no=invt_no)))
    assert statuses(customs.answers(), "CEB624") == [2, 120, 399]
    customs.send(samples.cancel(samples.inventory(invt_no="29282026I999999999")))
    refused = customs.answers()
    assert statuses(refused, "CEB624") == [2, 100] and "不存在" in refused[-1].return_info


def test_return_restores_the_annual_total(customs: Customs) -> None:
    for n in range(1, 6):
        customs.send(inventory(n, "5000.00"))  # single items: 25,000 this year
    released = customs.answers()
    invt_no = next(
        r.keys["invtNo"]
        for r in released
        if r.keys["copNo"] == "CW0000000001" and r.return_status == 800
    )
    customs.send(inventory(6, "2000.00"))
    assert "超过个人年度交易限值26000元" in customs.answers()[-1].return_info
    customs.send(samples.refund(inventory(1, "5000.00", invt_no=invt_no)))
    assert statuses(customs.answers(), "CEB626") == [2, 120, 399]
    customs.send(inventory(7, "2000.00"))
    assert statuses(customs.answers()) == [2, 120, 399, 800]


def test_return_before_release_is_refused(tmp_path: Path) -> None:
    customs = Customs(tmp_path, rates=Rates(inspection=1, hold=1))
    customs.send(samples.inventory())
    invt_no = customs.answers()[-1].keys["invtNo"]
    customs.send(samples.refund(samples.inventory(invt_no=invt_no)))
    refused = customs.answers()
    assert statuses(refused, "CEB626") == [2, 100] and "未放行" in refused[-1].return_info


def test_enveloped_messages_get_enveloped_answers(customs: Customs) -> None:
    customs.send(samples.inventory(), wrapped=True)
    customs.sim.step()
    while customs.sim.pending:
        customs.sim.step()
    files = sorted(customs.receive_dir.glob("*.xml"))
    assert files and all(b"DxpMsg" in f.read_bytes() for f in files)
    assert all(b"DXPENTDEMO00HZ01" in f.read_bytes() for f in files)
    assert statuses(customs.answers()) == [2, 120, 399, 800]


def test_receipts_can_be_batched_into_one_file(tmp_path: Path) -> None:
    customs = Customs(tmp_path, receipts_per_file=50)
    for n in range(1, 4):
        customs.send(inventory(n, "100.00"))
    while customs.sim.step() or customs.sim.pending:
        pass
    files = list(customs.receive_dir.glob("*.xml"))
    assert len(files) < 12
    assert sum(len(parse_receipts(f.read_bytes())) for f in files) == 12


def test_from_settings_reads_the_simulator_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        simulator_require_documents=True,
        simulator_review_rate=0.25,
        simulator_inspection_rate=0.5,
        simulator_hold_rate=0.1,
        simulator_receipts_per_file=100,
    )
    sim = CustomsSimulator.from_settings(settings)
    assert sim.require_documents and sim.rates == Rates(0.25, 0.5, 0.1)
    assert sim.receipts_per_file == 100
    assert sim.send_dir == settings.send_dir
    assert Settings(data_dir=tmp_path).simulator_review_rate == 0


SAMPLE = render(samples.inventory(), samples.transfer())


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, len(SAMPLE) - 1), st.binary(max_size=12))
def test_damaged_files_are_always_answered_never_raised(
    tmp_path: Path, at: int, junk: bytes
) -> None:
    customs = Customs(tmp_path / f"case{at}-{junk.hex()}")
    customs.send_raw(SAMPLE[:at] + junk + SAMPLE[at + len(junk) :])
    answered = {r.message_type for r in customs.answers()}
    assert answered in ({"CEB900"}, {"CEB622"})
