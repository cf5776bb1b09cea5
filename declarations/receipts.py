"""Parses customs receipts (CEB622 and its family) from bytes, whatever the namespace prefix,
and builds CEB622 receipts for the customs simulator."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from lxml import etree

from declarations.codes import CEB_NS, DXP_NS
from kit.errors import DomainError
from kit.xmlsafe import parse_untrusted

RECEIPT_BLOCKS = {
    "CEB312Message": "OrderReturn",
    "CEB512Message": "LogisticsReturn",
    "CEB622Message": "InventoryReturn",
    "CEB624Message": "InvtCancelReturn",
    "CEB626Message": "InvtRefundReturn",
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
)


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


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element) -> dict[str, str]:
    return {_local(child): (child.text or "").strip() for child in element if _is_element(child)}


def _is_element(node: object) -> bool:
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


def _unwrap_dxp(root: etree._Element) -> etree._Element:
    data = root.find(f"{{{DXP_NS}}}Data")
    if data is None:
        data = next((el for el in root.iter() if _is_element(el) and _local(el) == "Data"), None)
    if data is None or not (data.text or "").strip():
        raise ReceiptError("dxp_without_data", "DxpMsg envelope carries no Data element")
    try:
        inner = base64.b64decode(data.text or "", validate=False)
    except ValueError as exc:
        raise ReceiptError("dxp_bad_base64", "DxpMsg Data is not base64") from exc
    return parse_untrusted(inner)


def _to_receipt(message_type: str, block: etree._Element) -> Receipt:
    fields = _children(block)
    try:
        status = int(fields.get("returnStatus", ""))
    except ValueError as exc:
        raise ReceiptError(
            "receipt_bad_status",
            "returnStatus is missing or not a number",
            field=f"{message_type}/returnStatus",
        ) from exc
    if not fields.get("guid") or not fields.get("returnTime"):
        raise ReceiptError(
            "receipt_incomplete", "receipt lacks guid or returnTime", field=message_type
        )
    keys = {name: fields[name] for name in KEY_FIELDS if fields.get(name)}
    return Receipt(
        message_type,
        fields["guid"],
        status,
        fields["returnTime"],
        fields.get("returnInfo", ""),
        keys,
    )


def parse_receipts(data: bytes) -> list[Receipt]:
    """Every receipt in a file: prefixed, default-namespace or DxpMsg-wrapped."""
    root = parse_untrusted(data)
    if _local(root) == "DxpMsg":
        root = _unwrap_dxp(root)
    message_type = _local(root)
    block_name = RECEIPT_BLOCKS.get(message_type)
    if block_name is None:
        raise ReceiptError("receipt_unknown_type", f"not a known receipt: {message_type}")
    blocks = [el for el in root if _is_element(el) and _local(el) == block_name]
    if not blocks:
        raise ReceiptError("receipt_empty", f"{message_type} has no {block_name}")
    return [_to_receipt(message_type.removesuffix("Message"), block) for block in blocks]


def build_ceb622(receipts: list[Receipt], *, guid: str) -> bytes:
    """A CEB622Message with one InventoryReturn per receipt (as customs sends, default ns)."""
    root = etree.Element(f"{{{CEB_NS}}}CEB622Message", nsmap={None: CEB_NS})  # type: ignore[dict-item]
    root.set("guid", guid)
    root.set("version", "1.0")
    order = ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo", "invtNo")
    for receipt in receipts:
        block = etree.SubElement(root, f"{{{CEB_NS}}}InventoryReturn")
        etree.SubElement(block, f"{{{CEB_NS}}}guid").text = receipt.guid
        for name in order:
            if receipt.keys.get(name):
                etree.SubElement(block, f"{{{CEB_NS}}}{name}").text = receipt.keys[name]
        etree.SubElement(block, f"{{{CEB_NS}}}returnStatus").text = str(receipt.return_status)
        etree.SubElement(block, f"{{{CEB_NS}}}returnTime").text = receipt.return_time
        etree.SubElement(block, f"{{{CEB_NS}}}returnInfo").text = receipt.return_info
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
