"""Parses customs receipts (CEB312/412/512/622/624/626/900 status receipts and CEB816 tax bills)
from bytes, whatever the namespace prefix and whether or not wrapped in DxpMsg; and builds them,
for the customs simulator and for tests."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from declarations.codes import CEB_NS
from declarations.envelope import is_envelope, unwrap
from kit.errors import DomainError
from kit.xmlsafe import parse_untrusted

RECEIPT_BLOCKS = {
    "CEB312Message": "OrderReturn",
    "CEB412Message": "PaymentReturn",
    "CEB512Message": "LogisticsReturn",
    "CEB622Message": "InventoryReturn",
    "CEB624Message": "InvtCancelReturn",
    "CEB626Message": "InvtRefundReturn",
    "CEB900Message": "MessageReturn",
}
# Business keys each receipt carries, in the order customs writes them (cbec-facts §2.9).
RECEIPT_KEYS = {
    "CEB312": ("ebpCode", "ebcCode", "orderNo"),
    "CEB412": ("payCode", "payTransactionId", "orderNo"),
    "CEB512": ("logisticsCode", "logisticsNo"),
    "CEB622": ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo", "invtNo"),
    "CEB624": ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo", "invtNo"),
    "CEB626": ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo", "invtNo"),
    "CEB900": (),
}
KEY_FIELDS = (
    "customsCode",
    "ebpCode",
    "ebcCode",
    "agentCode",
    "copNo",
    "preNo",
    "invtNo",
    "orderNo",
    "logisticsCode",
    "logisticsNo",
    "payCode",
    "payTransactionId",
    "assureCode",  # CEB816: the guarantor whose guarantee is debited (§5.1)
)
MAX_INFO = 1000
_STATUS = re.compile(r"-?[0-9]{1,5}")


class ReceiptError(DomainError):
    """A receipt file that cannot be read as a customs receipt."""


@dataclass(frozen=True)
class Receipt:
    """One status report from customs about one declaration."""

    message_type: str
    guid: str
    return_status: int
    return_time: str
    return_info: str
    keys: dict[str, str]
    # This receipt's own element as XML, for the record: a file may carry many receipts.
    raw: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class TaxLine:
    """TaxListRd: the tax on one inventory line."""

    gnum: int
    gcode: str
    tax_price: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal


@dataclass(frozen=True)
class TaxBill:
    """CEB816 TaxHeadRd + lines: customs' electronic tax bill for one inventory."""

    guid: str
    return_time: str
    invt_no: str
    tax_no: str
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal
    status: str
    keys: dict[str, str]
    lines: tuple[TaxLine, ...]

    @property
    def total(self) -> Decimal:
        return self.customs_tax + self.value_added_tax + self.consumption_tax


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _is_element(node: object) -> bool:
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


def _children(element: etree._Element) -> dict[str, str]:
    return {_local(child): (child.text or "").strip() for child in element if _is_element(child)}


def _return_time(text: str, where: str) -> str:
    """17-digit yyyyMMddHHmmssSSS; a 14-digit time is padded so later receipts compare right."""
    if text.isascii() and text.isdigit() and len(text) in (14, 17):
        return text.ljust(17, "0")
    raise ReceiptError(
        "receipt_bad_time",
        f"returnTime must be 17 digits (yyyyMMddHHmmssSSS), got {text[:40]!r}",
        field=f"{where}/returnTime",
    )


def _status(fields: dict[str, str], where: str) -> int:
    text = fields.get("returnStatus", "")
    if not _STATUS.fullmatch(text):
        raise ReceiptError(
            "receipt_bad_status",
            f"returnStatus is missing or not a number: {text[:40]!r}",
            field=f"{where}/returnStatus",
        )
    return int(text)


def _to_receipt(message_type: str, block: etree._Element) -> Receipt:
    fields = _children(block)
    status = _status(fields, message_type)
    if not fields.get("guid") or not fields.get("returnTime"):
        raise ReceiptError(
            "receipt_incomplete", "receipt lacks guid or returnTime", field=message_type
        )
    keys = {name: fields[name] for name in KEY_FIELDS if fields.get(name)}
    info = fields.get("returnInfo", "")[:MAX_INFO]
    when = _return_time(fields["returnTime"], message_type)
    raw = etree.tostring(block, encoding="unicode", with_tail=False)
    return Receipt(message_type, fields["guid"][:64], status, when, info, keys, raw)


def open_file(data: bytes) -> etree._Element:
    """The business root of a receipt file, unwrapping a DxpMsg envelope; refuses hostile XML."""
    try:
        root = parse_untrusted(data)
        return unwrap(root) if is_envelope(root) else root
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise ReceiptError("receipt_unreadable", f"cannot read the file: {exc}") from exc


def _blocks(root: etree._Element, name: str) -> list[etree._Element]:
    return [el for el in root if _is_element(el) and _local(el) == name]


def parse_receipts(data: bytes) -> list[Receipt]:
    """Every status receipt in a file: prefixed, default-namespace or DxpMsg-wrapped.
    Tax bills (CEB816) are refused here with code receipt_is_tax_bill; read them with
    parse_tax_bills."""
    root = open_file(data)
    message_type = _local(root)
    if message_type == "CEB816Message":
        raise ReceiptError("receipt_is_tax_bill", "CEB816 is a tax bill, not a status receipt")
    block_name = RECEIPT_BLOCKS.get(message_type)
    if block_name is None:
        raise ReceiptError("receipt_unknown_type", f"not a known receipt: {message_type[:60]}")
    blocks = _blocks(root, block_name)
    if not blocks:
        raise ReceiptError("receipt_empty", f"{message_type} has no {block_name}")
    return [_to_receipt(message_type.removesuffix("Message"), block) for block in blocks]


def _money(fields: dict[str, str], name: str) -> Decimal:
    try:
        return Decimal(fields.get(name) or "0")
    except InvalidOperation as exc:
        raise ReceiptError("tax_bad_amount", f"{name} is not a number", field=name) from exc


def _tax_line(element: etree._Element) -> TaxLine:
    fields = _children(element)
    gnum = fields.get("gnum", "")
    if not gnum.isascii() or not gnum.isdigit() or len(gnum) > 4:
        raise ReceiptError("tax_bad_line", f"TaxListRd gnum is not a line number: {gnum[:20]!r}")
    return TaxLine(
        int(gnum),
        fields.get("gcode", ""),
        _money(fields, "taxPrice"),
        _money(fields, "customsTax"),
        _money(fields, "valueAddedTax"),
        _money(fields, "consumptionTax"),
    )


def _tax_bill(tax: etree._Element) -> TaxBill:
    heads = _blocks(tax, "TaxHeadRd")
    if len(heads) != 1:
        raise ReceiptError("tax_bad_head", "a Tax block needs exactly one TaxHeadRd")
    head = _children(heads[0])
    if not head.get("guid") or not head.get("invtNo"):
        raise ReceiptError("tax_incomplete", "TaxHeadRd lacks guid or invtNo")
    return TaxBill(
        guid=head["guid"][:64],
        return_time=_return_time(head.get("returnTime", ""), "CEB816"),
        invt_no=head["invtNo"],
        tax_no=head.get("taxNo", ""),
        customs_tax=_money(head, "customsTax"),
        value_added_tax=_money(head, "valueAddedTax"),
        consumption_tax=_money(head, "consumptionTax"),
        status=head.get("status", ""),
        keys={name: head[name] for name in KEY_FIELDS if head.get(name) and name != "invtNo"},
        lines=tuple(_tax_line(line) for line in _blocks(tax, "TaxListRd")),
    )


def parse_tax_bills(data: bytes) -> list[TaxBill]:
    """Every tax bill (Tax → TaxHeadRd + TaxListRd*) in a CEB816 file."""
    root = open_file(data)
    if _local(root) != "CEB816Message":
        raise ReceiptError("receipt_not_tax_bill", f"not a CEB816 tax bill: {_local(root)[:60]}")
    taxes = _blocks(root, "Tax")
    if not taxes:
        raise ReceiptError("receipt_empty", "CEB816Message has no Tax")
    return [_tax_bill(tax) for tax in taxes]


def _sub(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{CEB_NS}}}{name}").text = text


def build_receipts(message_type: str, receipts: list[Receipt], *, guid: str) -> bytes:
    """A receipt file (e.g. CEB622) with one return block per receipt, in the default namespace
    as customs sends it."""
    root = etree.Element(f"{{{CEB_NS}}}{message_type}Message", nsmap={None: CEB_NS})  # type: ignore[dict-item]
    root.set("guid", guid)
    root.set("version", "1.0")
    block_name = RECEIPT_BLOCKS[f"{message_type}Message"]
    for receipt in receipts:
        block = etree.SubElement(root, f"{{{CEB_NS}}}{block_name}")
        _sub(block, "guid", receipt.guid)
        for name in RECEIPT_KEYS[message_type]:
            if receipt.keys.get(name):
                _sub(block, name, receipt.keys[name])
        _sub(block, "returnStatus", str(receipt.return_status))
        _sub(block, "returnTime", receipt.return_time)
        _sub(block, "returnInfo", receipt.return_info)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build_ceb622(receipts: list[Receipt], *, guid: str) -> bytes:
    """A CEB622Message with one InventoryReturn per receipt (as customs sends, default ns)."""
    return build_receipts("CEB622", receipts, guid=guid)


def _tax_fields(parent: etree._Element, pairs: list[tuple[str, str]]) -> None:
    for name, text in pairs:
        if text:
            _sub(parent, name, text)


def build_ceb816(bills: list[TaxBill], *, guid: str) -> bytes:
    """A CEB816Message with one Tax block per bill."""
    root = etree.Element(f"{{{CEB_NS}}}CEB816Message", nsmap={None: CEB_NS})  # type: ignore[dict-item]
    root.set("guid", guid)
    root.set("version", "1.0")
    for bill in bills:
        tax = etree.SubElement(root, f"{{{CEB_NS}}}Tax")
        head = etree.SubElement(tax, f"{{{CEB_NS}}}TaxHeadRd")
        _tax_fields(head, _head_pairs(bill))
        for line in bill.lines:
            _tax_fields(etree.SubElement(tax, f"{{{CEB_NS}}}TaxListRd"), _line_pairs(line))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _head_pairs(bill: TaxBill) -> list[tuple[str, str]]:
    return [
        ("guid", bill.guid),
        ("returnTime", bill.return_time),
        ("invtNo", bill.invt_no),
        ("taxNo", bill.tax_no),
        ("customsTax", f"{bill.customs_tax:.2f}"),
        ("valueAddedTax", f"{bill.value_added_tax:.2f}"),
        ("consumptionTax", f"{bill.consumption_tax:.2f}"),
        ("status", bill.status),
        *((name, bill.keys.get(name, "")) for name in ("assureCode", "ebcCode", "agentCode")),
        ("orderNo", bill.keys.get("orderNo", "")),
    ]


def _line_pairs(line: TaxLine) -> list[tuple[str, str]]:
    return [
        ("gnum", str(line.gnum)),
        ("gcode", line.gcode),
        ("taxPrice", f"{line.tax_price:.2f}"),
        ("customsTax", f"{line.customs_tax:.2f}"),
        ("valueAddedTax", f"{line.value_added_tax:.2f}"),
        ("consumptionTax", f"{line.consumption_tax:.2f}"),
    ]
