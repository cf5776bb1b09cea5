"""Receipt parsing: every receipt type, any namespace form, DxpMsg, tax bills; malformed and
hostile input refused with a clear error; fuzzed bytes never crash the parser."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from declarations import envelope
from declarations.receipts import (
    Receipt,
    ReceiptError,
    TaxBill,
    TaxLine,
    build_ceb816,
    build_receipts,
    parse_receipts,
    parse_tax_bills,
)
from kit.errors import DomainError

CEB = "http://www.chinaport.gov.cn/ceb"
PREFIXED_622 = f"""<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB622Message xmlns:ceb="{CEB}" guid="C1C1C1C1-0000-4000-8000-000000000001" version="1.0">
  <ceb:InventoryReturn>
    <ceb:guid>00000000-0000-4000-8000-000000000621</ceb:guid>
    <ceb:customsCode>2928</ceb:customsCode><ceb:ebpCode>DEMO3301PF</ceb:ebpCode>
    <ceb:ebcCode>DEMO3301EC</ceb:ebcCode><ceb:agentCode>330766K00Q</ceb:agentCode>
    <ceb:copNo>CW2928000000001</ceb:copNo><ceb:preNo>B20200615494000227</ceb:preNo>
    <ceb:invtNo>29242020I439440284</ceb:invtNo>
    <ceb:returnStatus>800</ceb:returnStatus><ceb:returnTime>20200615171550734</ceb:returnTime>
    <ceb:returnInfo>[Code:2600;Desc:放行]</ceb:returnInfo>
  </ceb:InventoryReturn>
  <ceb:InventoryReturn>
    <ceb:guid>00000000-0000-4000-8000-000000000622</ceb:guid>
    <ceb:copNo>CW2928000000002</ceb:copNo><ceb:preNo>B20200615494000228</ceb:preNo>
    <ceb:returnStatus>100</ceb:returnStatus><ceb:returnTime>20200615171550999</ceb:returnTime>
    <ceb:returnInfo>订购人身份证件号码校验不通过</ceb:returnInfo>
  </ceb:InventoryReturn>
</ceb:CEB622Message>""".encode()
DEFAULT_NS_312 = f"""<CEB312Message xmlns="{CEB}" guid="X" version="1.0"><OrderReturn>
<guid>00000000-0000-4000-8000-000000000311</guid><ebpCode>P</ebpCode><ebcCode>E</ebcCode>
<orderNo>TM1</orderNo><returnStatus>120</returnStatus><returnTime>20261111103005</returnTime>
<returnInfo>ok</returnInfo></OrderReturn></CEB312Message>""".encode()


def test_prefixed_ceb622_with_several_returns() -> None:
    first, second = parse_receipts(PREFIXED_622)
    assert (first.message_type, first.return_status, first.return_time) == (
        "CEB622",
        800,
        "20200615171550734",
    )
    assert first.keys["invtNo"] == "29242020I439440284" and first.keys["copNo"] == "CW2928000000001"
    assert second.return_status == 100 and "invtNo" not in second.keys


def test_default_namespace_and_14_digit_time_padded_to_17() -> None:
    (receipt,) = parse_receipts(DEFAULT_NS_312)
    assert receipt.message_type == "CEB312" and receipt.keys["orderNo"] == "TM1"
    assert receipt.return_time == "20261111103005000"


def test_dxpmsg_wrapped_receipt() -> None:
    wrapped = envelope.wrap(PREFIXED_622, message_type="CEB622", sender_id="DXPEDCCEB0000002")
    assert parse_receipts(wrapped) == parse_receipts(PREFIXED_622)


@pytest.mark.parametrize(
    "message_type", ["CEB312", "CEB412", "CEB512", "CEB622", "CEB624", "CEB626", "CEB900"]
)
def test_build_then_parse_round_trips_every_receipt_type(message_type: str) -> None:
    keys = {"copNo": "CW1", "orderNo": "TM1", "logisticsNo": "YT1", "payCode": "PY"}
    receipt = Receipt(message_type, "G-1", 120, "20261111103005123", "信息 & <ok>", keys)
    (parsed,) = parse_receipts(build_receipts(message_type, [receipt], guid="F"))
    assert parsed.return_status == 120 and parsed.return_info == "信息 & <ok>"
    assert parsed.message_type == message_type
    assert set(parsed.keys) <= set(keys)


def test_negative_status_on_ceb900() -> None:
    receipt = Receipt("CEB900", "G-1", -1, "20261111103005123", "报文格式校验失败", {})
    assert parse_receipts(build_receipts("CEB900", [receipt], guid="F"))[0].return_status == -1


def test_tax_bill_round_trip_and_refused_as_status_receipt() -> None:
    line = TaxLine(1, "1901101000", Decimal("478.00"), Decimal(0), Decimal("43.50"), Decimal(0))
    bill = TaxBill(
        "G-816",
        "20261111120000000",
        "29282026I000000001",
        "TAX001",
        Decimal(0),
        Decimal("43.50"),
        Decimal(0),
        "1",
        {"orderNo": "TM1"},
        (line,),
    )
    data = build_ceb816([bill], guid="F")
    assert parse_tax_bills(data) == [bill]
    assert parse_tax_bills(data)[0].total == Decimal("43.50")
    with pytest.raises(ReceiptError) as caught:
        parse_receipts(data)
    assert caught.value.code == "receipt_is_tax_bill"


DXP = "http://www.chinaport.gov.cn/dxp"


def _inventory_return(inner: str) -> bytes:
    block = f"<InventoryReturn>{inner}</InventoryReturn>"
    return f'<CEB622Message xmlns="{CEB}">{block}</CEB622Message>'.encode()


T17 = "<returnTime>20261111103005123</returnTime>"
BAD = {
    "receipt_unknown_type": b"<Foo/>",
    "receipt_empty": f'<CEB622Message xmlns="{CEB}"/>'.encode(),
    "receipt_bad_status": _inventory_return(f"<guid>g</guid><returnStatus>x</returnStatus>{T17}"),
    "receipt_bad_time": _inventory_return(
        "<guid>g</guid><returnStatus>2</returnStatus><returnTime>2026-11-11</returnTime>"
    ),
    "receipt_incomplete": _inventory_return(f"<returnStatus>2</returnStatus>{T17}"),
    "xml_malformed": b"<CEB622Message><unclosed>",
    "dxp_bad_base64": f'<DxpMsg xmlns="{DXP}"><Data>@@@not base64@@@</Data></DxpMsg>'.encode(),
    "dxp_without_data": f'<DxpMsg xmlns="{DXP}"/>'.encode(),
}


@pytest.mark.parametrize("code", sorted(BAD))
def test_malformed_receipts_get_a_clear_error(code: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_receipts(BAD[code])
    assert caught.value.code == code


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb"><InventoryReturn><guid>&x;</guid>
</InventoryReturn></CEB622Message>"""
LATE_DOCTYPE = b"<!--" + b"x" * 5000 + b'--><!DOCTYPE r SYSTEM "http://evil/x.dtd"><r/>'


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (LAUGHS, "xml_dtd_forbidden"),
        (EXTERNAL, "xml_dtd_forbidden"),
        (LATE_DOCTYPE, "xml_dtd_forbidden"),
        (b"<a>" * 100 + b"</a>" * 100, "xml_too_deep"),
        (b"<a>" * 100_000 + b"</a>" * 100_000, "xml_malformed"),
        (b"<r>" + b"x" * (3 * 1024 * 1024) + b"</r>", "xml_too_large"),
        (
            LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"),
            "xml_encoding",
        ),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "doctype-after-4k",
        "deep",
        "very-deep",
        "huge",
        "utf16",
    ],
)
def test_hostile_xml_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_receipts(data)
    assert caught.value.code == code


def test_hostile_xml_inside_an_envelope_is_refused_too() -> None:
    wrapped = b'<DxpMsg xmlns="http://www.chinaport.gov.cn/dxp"><Data>%s</Data></DxpMsg>' % (
        base64.b64encode(LAUGHS)
    )
    with pytest.raises(DomainError) as caught:
        parse_receipts(wrapped)
    assert caught.value.code == "xml_dtd_forbidden"


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    positions = st.integers(0, len(data) - 1)
    cut = positions.map(lambda i: data[:i])
    flip = st.tuples(positions, st.integers(0, 255)).map(
        lambda p: data[: p[0]] + bytes([p[1]]) + data[p[0] + 1 :]
    )
    splice = st.tuples(positions, st.binary(max_size=40)).map(
        lambda p: data[: p[0]] + p[1] + data[p[0] :]
    )
    return st.one_of(cut, flip, splice, st.binary(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations(PREFIXED_622) | _mutations(DEFAULT_NS_312))
def test_fuzzed_receipts_parse_or_fail_with_a_domain_error(data: bytes) -> None:
    try:
        receipts = parse_receipts(data)
    except DomainError:
        return
    assert all(isinstance(r.return_status, int) and len(r.return_time) == 17 for r in receipts)
