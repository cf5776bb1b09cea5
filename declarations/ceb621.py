"""Builds the CEB621 import inventory message (cbec-facts §2.7, §2.8) with lxml."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from lxml import etree

from declarations.codes import CEB_NS
from declarations.fmt import day, money, quantity, timestamp
from declarations.model import Inventory, InventoryLine, Transfer

NSMAP = {"ceb": CEB_NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
Q = f"{{{CEB_NS}}}"


def _add(parent: etree._Element, name: str, value: object | None) -> None:
    if value is None or value == "":
        return
    etree.SubElement(parent, Q + name).text = str(value)


def _fill(parent: etree._Element, fields: list[tuple[str, object | None]]) -> None:
    for name, value in fields:
        _add(parent, name, value)


def _opt(fmt: Callable[[Decimal], str], value: Decimal | None) -> str | None:
    return None if value is None else fmt(value)


def _head_fields(inv: Inventory) -> list[tuple[str, object | None]]:
    return [
        ("guid", inv.guid),
        ("appType", inv.app_type),
        ("appTime", timestamp(inv.app_time)),
        ("appStatus", inv.app_status),
        ("orderNo", inv.order_no),
        ("ebpCode", inv.ebp_code),
        ("ebpName", inv.ebp_name),
        ("ebcCode", inv.ebc_code),
        ("ebcName", inv.ebc_name),
        ("logisticsNo", inv.logistics_no),
        ("logisticsCode", inv.logistics_code),
        ("logisticsName", inv.logistics_name),
        ("copNo", inv.cop_no),
        ("preNo", inv.pre_no),
        ("assureCode", inv.assure_code),
        ("emsNo", inv.ems_no),
        ("invtNo", inv.invt_no),
        ("ieFlag", "I"),
        ("declTime", day(inv.decl_time)),
        ("customsCode", inv.customs_code),
        ("portCode", inv.port_code),
        ("ieDate", inv.ie_date and day(inv.ie_date)),
        ("buyerIdType", inv.buyer_id_type),
        ("buyerIdNumber", inv.buyer_id_number),
        ("buyerName", inv.buyer_name),
        ("buyerTelephone", inv.buyer_telephone),
        ("consigneeAddress", inv.consignee_address),
        ("agentCode", inv.agent_code),
        ("agentName", inv.agent_name),
        ("areaCode", inv.area_code),
        ("areaName", inv.area_name),
        ("tradeMode", inv.trade_mode),
        ("trafMode", inv.traf_mode),
        ("trafNo", inv.traf_no),
        ("voyageNo", inv.voyage_no),
        ("billNo", inv.bill_no),
        ("loctNo", inv.loct_no),
        ("licenseNo", inv.license_no),
        ("country", inv.country),
        ("freight", money(inv.freight)),
        ("insuredFee", money(inv.insured_fee)),
        ("currency", inv.currency),
        ("wrapType", inv.wrap_type),
        ("packNo", inv.pack_no),
        ("grossWeight", quantity(inv.gross_weight)),
        ("netWeight", quantity(inv.net_weight)),
        ("note", inv.note),
    ]


def _line_fields(line: InventoryLine) -> list[tuple[str, object | None]]:
    return [
        ("gnum", line.gnum),
        ("itemRecordNo", line.item_record_no),
        ("itemNo", line.item_no),
        ("itemName", line.item_name),
        ("gcode", line.gcode),
        ("gname", line.gname),
        ("gmodel", line.gmodel),
        ("barCode", line.bar_code or "无"),
        ("country", line.country),
        ("tradeCountry", line.trade_country),
        ("currency", line.currency),
        ("qty", quantity(line.qty)),
        ("unit", line.unit),
        ("qty1", quantity(line.qty1)),
        ("unit1", line.unit1),
        ("qty2", _opt(quantity, line.qty2)),
        ("unit2", line.unit2),
        ("price", money(line.price)),
        ("totalPrice", money(line.total_price)),
        ("note", line.note),
    ]


def transfer_element(parent: etree._Element, transfer: Transfer) -> None:
    """Append BaseTransfer, the sender block every declaration carries."""
    block = etree.SubElement(parent, Q + "BaseTransfer")
    _fill(
        block,
        [
            ("copCode", transfer.cop_code),
            ("copName", transfer.cop_name),
            ("dxpMode", transfer.dxp_mode),
            ("dxpId", transfer.dxp_id),
            ("note", transfer.note),
        ],
    )


def build_ceb621(inventory: Inventory, transfer: Transfer) -> etree._Element:
    """The CEB621Message tree for one inventory."""
    root = etree.Element(Q + "CEB621Message", nsmap=NSMAP)
    root.set("guid", inventory.guid)
    root.set("version", "1.0")
    block = etree.SubElement(root, Q + "Inventory")
    _fill(etree.SubElement(block, Q + "InventoryHead"), _head_fields(inventory))
    for line in inventory.lines:
        _fill(etree.SubElement(block, Q + "InventoryList"), _line_fields(line))
    transfer_element(root, transfer)
    return root


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
