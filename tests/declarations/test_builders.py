"""Builders: golden files per message type, XSD validity, round trips, options, change forms."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from declarations import samples
from declarations.build import build, build_checked, change_of, to_bytes
from declarations.ceb621 import build_ceb621
from declarations.codes import CEB_NS
from declarations.model import Document, Options
from declarations.read import read_document, read_transfer
from declarations.spec import SPECS
from declarations.validate import validate

GOLDEN = Path(__file__).parent / "golden"
DOCUMENTS: dict[str, Callable[[], Document]] = {
    "CEB311": samples.order,
    "CEB411": samples.payment,
    "CEB511": samples.waybill,
    "CEB621": samples.inventory,
    "CEB623": samples.cancel,
    "CEB625": samples.refund,
}
Q = f"{{{CEB_NS}}}"


def canonical(root: etree._Element) -> bytes:
    flat = etree.fromstring(etree.tostring(root), etree.XMLParser(remove_blank_text=True))
    return etree.tostring(flat, method="c14n")


@pytest.mark.parametrize("message_type", sorted(DOCUMENTS))
def test_matches_golden_file_and_its_xsd(message_type: str) -> None:
    golden = etree.parse(str(GOLDEN / f"{message_type}.xml")).getroot()
    built = build(DOCUMENTS[message_type](), samples.transfer())
    assert canonical(built) == canonical(golden)
    assert validate(golden) == []
    assert etree.QName(built).localname == f"{message_type}Message"


@pytest.mark.parametrize("message_type", sorted(DOCUMENTS))
def test_build_then_read_round_trips(message_type: str) -> None:
    doc = DOCUMENTS[message_type]()
    root = build(doc, samples.transfer())
    assert read_document(root) == doc
    assert read_transfer(root) == samples.transfer()


def test_every_spec_field_is_an_attribute_of_its_input() -> None:
    for spec in SPECS.values():
        names = {f.name for f in dataclasses.fields(spec.cls)}
        assert {field.attr for field in spec.head.fields} <= names, spec.message_type
        if spec.lines is not None and spec.line_cls is not None:
            line_names = {f.name for f in dataclasses.fields(spec.line_cls)}
            assert {field.attr for field in spec.lines.fields} <= line_names


def test_root_guid_is_upper_case_uuid_and_base_transfer_is_dxp() -> None:
    root = build_ceb621(samples.inventory(), samples.transfer())
    assert root.get("guid") == samples.inventory().guid == root.findtext(f".//{Q}guid")
    assert root.get("version") == "1.0"
    transfer = root.find(Q + "BaseTransfer")
    assert transfer is not None
    assert [etree.QName(e).localname for e in transfer] == [
        "copCode",
        "copName",
        "dxpMode",
        "dxpId",
    ]
    assert transfer.findtext(Q + "dxpMode") == "DXP"


def test_lowercase_guid_breaks_the_schema() -> None:
    findings = build_checked(
        samples.inventory(guid="a" * 8 + "-0000-4000-8000-" + "0" * 12), samples.transfer()
    ).findings
    assert {f.code for f in findings} == {"wrong_form"}
    assert "upper-case UUID" in findings[0].rule


def test_money_rounds_to_two_decimals_and_quantities_keep_five() -> None:
    line = dataclasses.replace(
        samples.inventory_line(),
        qty=Decimal("1.123456"),
        qty1=Decimal("0.060"),
        price=Decimal("10.005"),
        total_price=Decimal("11.2399"),
    )
    root = build(samples.inventory(lines=(line,)), samples.transfer())
    listed = root.find(f"{Q}Inventory/{Q}InventoryList")
    assert listed is not None
    assert listed.findtext(Q + "qty") == "1.12346"
    assert listed.findtext(Q + "qty1") == "0.06"
    assert listed.findtext(Q + "price") == "10.01"
    assert listed.findtext(Q + "totalPrice") == "11.24"


def test_aware_times_are_written_on_the_beijing_clock() -> None:
    utc = datetime(2026, 12, 31, 17, 0, 1, tzinfo=UTC)
    root = build(samples.order(app_time=utc), samples.transfer())
    assert root.findtext(f".//{Q}appTime") == "20270101010001"


def test_missing_barcode_is_written_as_wu() -> None:
    line = dataclasses.replace(samples.inventory_line(), bar_code=None)
    root = build(samples.inventory(lines=(line,)), samples.transfer())
    assert root.findtext(f".//{Q}barCode") == "无"
    assert read_document(root) == samples.inventory(lines=(line,))


def test_text_is_escaped_and_control_characters_replaced() -> None:
    inv = samples.inventory(note="A&B <x> \x07bell", consignee_address="路1号 & 2号")
    checked = build_checked(inv, samples.transfer())
    assert checked.ok, checked.findings
    assert checked.root.findtext(f".//{Q}note") == "A&B <x> \ufffdbell"


@pytest.mark.parametrize("spelling", ["consigneeDitrict", "consigneeDistrict"])
def test_district_spelling_is_configurable_and_both_validate(spelling: str) -> None:
    options = Options(district_element=spelling)  # type: ignore[arg-type]
    checked = build_checked(samples.order(), samples.transfer(), options)
    assert checked.ok, checked.findings
    assert checked.root.findtext(f".//{Q}{spelling}") == "330106"
    assert read_document(checked.root) == samples.order()


@pytest.mark.parametrize(("places", "text"), [(2, "478.00"), (5, "478.00000")])
def test_money_precision_is_configurable(places: int, text: str) -> None:
    options = Options(money_places=places, version="v1.0")  # type: ignore[arg-type]
    checked = build_checked(samples.order(), samples.transfer(), options)
    assert checked.ok, checked.findings
    assert checked.root.findtext(f".//{Q}goodsValue") == text
    assert checked.root.get("version") == "v1.0"


def test_change_keeps_cop_no_with_new_guid_and_app_type_2() -> None:
    first = samples.inventory()
    fixed = change_of(
        first, guid="ABCDEF01-0000-4000-8000-000000000002", app_time=samples.AT, buyer_name="张三丰"
    )
    root = build(fixed, samples.transfer())
    assert root.findtext(f".//{Q}appType") == "2"
    assert root.findtext(f".//{Q}copNo") == first.cop_no
    assert root.get("guid") == "ABCDEF01-0000-4000-8000-000000000002"
    assert validate(root) == []


def test_direct_purchase_inventory_with_conveyance_validates() -> None:
    inv = samples.inventory(
        trade_mode="9610",
        ems_no=None,
        area_code=None,
        area_name=None,
        traf_mode="5",
        traf_no="CA1234",
        voyage_no="CA1234",
        bill_no="999-12345675",
        country="609",
    )
    assert build_checked(inv, samples.transfer()).ok


def test_to_bytes_has_declaration_and_parses_back() -> None:
    data = to_bytes(build(samples.waybill(), samples.transfer()))
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert read_document(etree.fromstring(data)) == samples.waybill()


def test_lone_surrogate_cannot_break_the_encoding() -> None:
    checked = build_checked(samples.inventory(buyer_name="张\ud800三"), samples.transfer())
    assert checked.ok and checked.root.findtext(f".//{Q}buyerName") == "张\ufffd三"


def test_legal_quantity_rounding_to_zero_is_caught_before_sending() -> None:
    # 0.00001 of a 0.05 kg serum is 0.0000005 kg: below what five decimals can say
    line = dataclasses.replace(samples.inventory_line(), qty1=Decimal("0.0000005"))
    (finding,) = build_checked(samples.inventory(lines=(line,)), samples.transfer()).findings
    assert finding.field == "qty1" and finding.rule == "qty1 must be more than 0"
