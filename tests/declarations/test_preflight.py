"""Pre-flight and the three-document checks: what customs would reject, listed before sending;
XSD findings in a broker's words; code tables as data."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from declarations import codes, samples
from declarations.build import build_checked
from declarations.consistency import mode_problems, three_document_problems
from declarations.preflight import blocking, preflight

T = samples.transfer()


def codes_of(problems: list) -> set[str]:
    return {p.code for p in problems}


def test_consistent_documents_pass() -> None:
    problems = preflight(
        samples.inventory(),
        T,
        order=samples.order(),
        payment=samples.payment(),
        waybill=samples.waybill(),
    )
    assert problems == []


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"inv": {"order_no": "TM999"}}, "order_mismatch", "orderNo"),
        ({"inv": {"ebp_code": "OTHERPF"}}, "order_mismatch", "ebpCode"),
        ({"inv": {"buyer_name": "李四"}}, "order_mismatch", "buyerName"),
        ({"inv": {"buyer_id_number": "440304199001011234"}}, "order_mismatch", "buyerIdNumber"),
        ({"inv": {"logistics_no": "YT999"}}, "waybill_mismatch", "logisticsNo"),
        ({"inv": {"logistics_code": "OTHERLG"}}, "waybill_mismatch", "logisticsCode"),
        (
            {"waybill": {"consignee_telephone": "13000000000"}},
            "consignee_mismatch",
            "consigneeTelephone",
        ),
        ({"waybill": {"consignee_address": "上海市"}}, "consignee_mismatch", "consigneeAddress"),
        (
            {"payment": {"payer_id_number": "440304199001011234"}},
            "payment_mismatch",
            "payerIdNumber",
        ),
        ({"payment": {"amount_paid": Decimal("531.49")}}, "paid_amount_mismatch", "amountPaid"),
        ({"payment": {"pay_transaction_id": "PAYX"}}, "payment_mismatch", "payTransactionId"),
        ({"order": {"actural_paid": Decimal("600.00")}}, "paid_mismatch", "acturalPaid"),
        ({"order": {"goods_value": Decimal("600.00")}}, "goods_value_mismatch", "goodsValue"),
    ],
)
def test_each_mismatch_is_named(changes: dict, code: str, field: str) -> None:
    inv = samples.inventory(**changes.get("inv", {}))
    order = samples.order(**changes.get("order", {}))
    payment = samples.payment(**changes.get("payment", {}))
    waybill = samples.waybill(**changes.get("waybill", {}))
    problems = three_document_problems(inv, order, payment, waybill)
    assert (code, field) in {(p.code, p.field) for p in problems}


def test_amounts_within_five_percent_pass_and_beyond_fail() -> None:
    line = dataclasses.replace(samples.inventory_line(), total_price=Decimal("495.00"))  # +3.6%
    inv = samples.inventory(lines=(line,))
    found = three_document_problems(inv, samples.order(), samples.payment(), samples.waybill())
    assert "price_mismatch" not in codes_of(found)
    line = dataclasses.replace(samples.inventory_line(), total_price=Decimal("510.00"))  # +6.7%
    inv = samples.inventory(lines=(line,))
    found = three_document_problems(inv, samples.order(), samples.payment(), samples.waybill())
    assert "price_mismatch" in codes_of(found)


def test_lines_must_map_one_to_one_by_gnum() -> None:
    inv = samples.inventory(lines=(samples.inventory_line(1), samples.inventory_line(2)))
    found = three_document_problems(inv, samples.order(), samples.payment(), samples.waybill())
    assert "lines_mismatch" in codes_of(found)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ems_no": None}, "missing_for_mode"),
        ({"area_code": None}, "missing_for_mode"),
        ({"country": "609"}, "bonded_country"),
        ({"traf_no": "CA1234"}, "not_for_bonded"),
        ({"voyage_no": "V1"}, "not_for_bonded"),
        (
            {"lines": (dataclasses.replace(samples.inventory_line(), item_record_no=None),)},
            "missing_for_mode",
        ),
        ({"trade_mode": "9610", "traf_mode": "Y"}, "direct_traf_mode"),
        ({"trade_mode": "0110"}, "trade_mode"),
    ],
)
def test_trade_mode_rules(changes: dict, code: str) -> None:
    assert code in codes_of(mode_problems(samples.inventory(**changes)))


def test_direct_purchase_needs_no_account_book() -> None:
    inv = samples.inventory(
        trade_mode="9610",
        ems_no=None,
        area_code=None,
        area_name=None,
        traf_mode="5",
        bill_no="999-1",
        country="609",
    )
    assert mode_problems(inv) == []


def test_preflight_lists_schema_limits_identity_and_documents_together() -> None:
    line = dataclasses.replace(
        samples.inventory_line(),
        qty=Decimal(3),
        price=Decimal("1700.00"),
        total_price=Decimal("5100.00"),
    )
    inv = samples.inventory(
        lines=(line,), buyer_id_number="110105194912310021", customs_code="29X8"
    )
    problems = preflight(inv, T, spent_this_year=Decimal(0))
    found = codes_of(problems)
    assert {
        "schema_wrong_form",
        "invalid_id_number",
        "over_single_limit",
        "missing_document",
    } <= found
    schema = next(p for p in problems if p.code == "schema_wrong_form")
    assert schema.field.endswith("customsCode") and schema.value == "29X8"
    assert "4-digit customs district code" in schema.message


def test_preflight_without_documents_when_others_file_them() -> None:
    assert preflight(samples.inventory(), T, require_documents=False) == []


def test_full_tax_warning_does_not_block() -> None:
    line = dataclasses.replace(
        samples.inventory_line(),
        qty=Decimal(1),
        price=Decimal("6800.00"),
        total_price=Decimal("6800.00"),
    )
    problems = preflight(samples.inventory(lines=(line,)), T, require_documents=False)
    assert codes_of(problems) == {"single_item_full_tax"} and blocking(problems) == []


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"order_no": "X" * 61}, "too_long", "orderNo is too long: 61 characters where at most 60"),
        ({"buyer_name": ""}, "structure", "buyerName is missing"),
        ({"currency": "502"}, "not_allowed", "currency must be one of 142"),
        ({"gross_weight": Decimal(0)}, "too_small", "grossWeight must be more than 0"),
        ({"port_code": "29"}, "wrong_form", "portCode must be a 4-digit customs district code"),
    ],
)
def test_schema_findings_are_in_broker_words(changes: dict, code: str, words: str) -> None:
    findings = build_checked(samples.inventory(**changes), T).findings
    assert findings and findings[0].code == code, findings
    assert words in findings[0].rule
    assert findings[0].message_type == "CEB621"
    assert findings[0].as_dict()["field"]


def test_unknown_message_type_is_a_finding_not_a_crash() -> None:
    from lxml import etree

    from declarations.validate import validate

    (finding,) = validate(etree.fromstring(b"<CEB999Message/>"))
    assert finding.code == "unknown_message"


def test_code_tables() -> None:
    assert codes.unit_name("142") == "瓶" and codes.CURRENCIES["142"][1].startswith("Chinese yuan")
    assert codes.unit_name("140") == "盒" and codes.unit_name("122") == "罐"
    assert codes.country_name("303") == "United Kingdom" and codes.country_name("305") == "France"
    pavilions = ["502", "609", "601", "331", "305", "303", "312", "132", "136", "122", "137", "133"]
    others = ["142", "116", "304", "306", "307", "309", "501", "110"]
    assert all(codes.country_name(c) for c in pavilions + others)
    assert codes.TRAF_MODES["Y"][1].startswith("Bonded port zone")
    assert codes.WRAP_TYPES["2"][1] == "carton"


@pytest.mark.parametrize(
    ("code", "klass"),
    [
        (1, "in_progress"),
        (2, "in_progress"),
        (120, "accepted"),
        (300, "review"),
        (500, "review"),
        (399, "accepted"),
        (501, "hold"),
        (599, "hold"),
        (100, "rejected"),
        (4, "rejected"),
        (-3, "rejected"),
        (800, "released"),
        (899, "closed"),
    ],
)
def test_every_return_status_has_meaning_and_class(code: int, klass: str) -> None:
    status = codes.describe_status(code)
    assert status.klass.value == klass and status.zh and status.en
    assert status.is_failure == (klass == "rejected")
