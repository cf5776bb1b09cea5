"""Receipt golden files: what Clearway writes for every receipt type (the simulator's answers),
compared canonicalised, valid against the receipt XSDs, and read back unchanged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from declarations.receipts import (
    RECEIPT_KEYS,
    Receipt,
    TaxBill,
    TaxLine,
    build_ceb816,
    build_receipts,
    parse_receipts,
    parse_tax_bills,
)
from declarations.validate import validate

GOLDEN = Path(__file__).parent / "golden" / "receipts"
KEYS = {
    "customsCode": "2928",
    "ebpCode": "DEMO3301PF",
    "ebcCode": "DEMO3301EC",
    "agentCode": "DEMO3301BK",
    "copNo": "CW2928000000001",
    "preNo": "B20261111000000001",
    "invtNo": "29282026I000000001",
    "orderNo": "TM20261111000001",
    "logisticsCode": "DEMO3301LG",
    "logisticsNo": "YT1000000001",
    "payCode": "DEMO3101PY",
    "payTransactionId": "PAY2026111100000001",
}
STATUS = {"CEB900": (-1, "报文格式校验失败: orderNo is too long")}


def receipt(message_type: str) -> Receipt:
    status, info = STATUS.get(message_type, (120, "[Code:1800;Desc:逻辑校验通过]"))
    keys = {name: KEYS[name] for name in RECEIPT_KEYS[message_type]}
    return Receipt(
        message_type,
        "0000026D-0000-4000-8000-00000000026D",
        status,
        "20261111103005123",
        info,
        keys,
    )


def tax_bill() -> TaxBill:
    line = TaxLine(1, "1901101000", Decimal("478.00"), Decimal(0), Decimal("43.50"), Decimal(0))
    return TaxBill(
        "0000026D-0000-4000-8000-00000000026D",
        "20261111120000000",
        KEYS["invtNo"],
        "TAX2928000001",
        Decimal(0),
        Decimal("43.50"),
        Decimal(0),
        "1",
        {"orderNo": KEYS["orderNo"]},
        (line,),
    )


def built(message_type: str) -> bytes:
    if message_type == "CEB816":
        return build_ceb816([tax_bill()], guid="A0000000-0000-4000-8000-000000000816")
    return build_receipts(
        message_type, [receipt(message_type)], guid="A0000000-0000-4000-8000-000000000001"
    )


def canonical(data: bytes) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True))
    return etree.tostring(root, method="c14n")


TYPES = sorted([*RECEIPT_KEYS, "CEB816"])


@pytest.mark.parametrize("message_type", TYPES)
def test_receipt_matches_golden_and_its_xsd(message_type: str) -> None:
    golden = (GOLDEN / f"{message_type}.xml").read_bytes()
    assert canonical(built(message_type)) == canonical(golden)
    assert validate(etree.fromstring(golden)) == []


@pytest.mark.parametrize("message_type", TYPES)
def test_golden_receipt_reads_back(message_type: str) -> None:
    golden = (GOLDEN / f"{message_type}.xml").read_bytes()
    if message_type == "CEB816":
        assert parse_tax_bills(golden) == [tax_bill()]
    else:
        assert parse_receipts(golden) == [receipt(message_type)]
