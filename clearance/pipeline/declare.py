"""Assembles the CEB621 inventory of a case from its order, SKUs and warehouse profile."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlmodel import Session, col, select

from clearance.pipeline.models import ClearanceCase, CustomsMessage
from declarations.ceb621 import build_ceb621, to_bytes
from declarations.fmt import china_now
from declarations.model import Inventory, InventoryLine, Transfer
from declarations.validate import Finding, validate
from kit.errors import DomainError
from warehouses.models import Merchant, Order, OrderLine, Parcel, Sku, Warehouse


class DeclarationInvalid(DomainError):
    """The built message breaks the XSD, or what it declares cannot be true (a net weight over
    the gross); it is never sent."""


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def _line(line: OrderLine, sku: Sku) -> InventoryLine:
    qty2 = sku.qty2_per_unit * line.qty if sku.qty2_per_unit is not None else None
    return InventoryLine(
        gnum=line.gnum,
        item_record_no=sku.item_record_no,
        item_no=sku.sku,
        item_name=sku.gname,
        gcode=sku.gcode,
        gname=sku.gname,
        gmodel=sku.gmodel,
        bar_code=sku.bar_code,
        country=sku.origin_country,
        qty=line.qty,
        unit=sku.unit,
        qty1=sku.qty1_per_unit * line.qty,
        unit1=sku.unit1,
        qty2=qty2,
        unit2=sku.unit2,
        price=line.price,
        total_price=line.total_price,
    )


def _lines_query(order_ids: list[int]) -> Any:
    return (
        select(OrderLine, Sku)
        .join(Sku, col(Sku.id) == col(OrderLine.sku_id))
        .where(col(OrderLine.order_id).in_(order_ids))
        .order_by(col(OrderLine.order_id), col(OrderLine.gnum))
    )


def _lines(session: Session, order_id: int) -> tuple[InventoryLine, ...]:
    return tuple(_line(line, sku) for line, sku in session.exec(_lines_query([order_id])))


def preload_for_orders(
    session: Session, order_ids: list[int]
) -> dict[int, tuple[InventoryLine, ...]]:
    """Load a batch's orders and merchants into the session, and return each order's lines."""
    orders = session.exec(select(Order).where(col(Order.id).in_(order_ids))).all()
    merchant_ids = {order.merchant_id for order in orders}
    merchants = session.exec(select(Merchant).where(col(Merchant.id).in_(merchant_ids))).all()
    warehouses = session.exec(select(Warehouse)).all()
    # The identity map holds objects weakly: without a strong reference they are dropped at
    # once and every `session.get` in `build_inventory` went back to the database.
    session.info.setdefault("preloaded", []).extend([*orders, *merchants, *warehouses])
    lines: dict[int, list[InventoryLine]] = {}
    for line, sku in session.exec(_lines_query(order_ids)):
        lines.setdefault(line.order_id, []).append(_line(line, sku))
    return {order_id: tuple(found) for order_id, found in lines.items()}


KILOGRAM = "035"  # 千克, the unit code of kg (cbec-facts §3.6)


def _weights(lines: tuple[InventoryLine, ...], parcel: Parcel) -> tuple[Decimal, Decimal]:
    """Gross as scanned (else as expected) and net as the legal quantity in kg; with no legal
    quantity in kg the net is taken as the gross. A net over the gross is kept as it is, for
    `weight_refusal` to hold the declaration for the broker (never altered unseen)."""
    net = sum((line.qty1 for line in lines if line.unit1 == KILOGRAM), Decimal(0))
    gross = parcel.weight_kg or parcel.expected_weight_kg
    return gross, net if net > 0 else gross


def _kg(weight: Decimal) -> str:
    return f"{weight.normalize():f}"


def weight_refusal(inventory: Inventory) -> DeclarationInvalid | None:
    """A net weight (the legal quantity in kg) above the gross weight cannot be declared: the
    gross includes the packing, the net is the goods alone (cbec-facts §2.7). The declaration
    is held, and the broker sees why, to re-weigh the parcel or correct the legal quantity."""
    if inventory.net_weight <= inventory.gross_weight:
        return None
    net, gross = _kg(inventory.net_weight), _kg(inventory.gross_weight)
    message = (
        f"the legal quantity, {net} kg, exceeds the parcel's gross weight, {gross} kg: re-weigh "
        "the parcel or correct the SKU's legal quantity (qty1) before it is declared"
    )
    zh = f"法定数量 {net} 千克大于包裹毛重 {gross} 千克：请复称包裹或更正商品法定数量后再申报"
    finding = {"code": "net_over_gross", "path": "netWeight", "value": net, "rule": message}
    details: dict[str, object] = {"code": "net_over_gross", "message_zh": zh, "findings": [finding]}
    return DeclarationInvalid("net_over_gross", message, "netWeight", details, zh)


def build_inventory(
    session: Session,
    case: ClearanceCase,
    *,
    app_type: str = "1",
    lines: tuple[InventoryLine, ...] | None = None,
) -> Inventory:
    """The CEB621 input of a case; `lines` may come preloaded for a whole batch."""
    order = session.get(Order, case.order_id)
    parcel = session.get(Parcel, case.parcel_id)
    warehouse = session.get(Warehouse, case.warehouse_id)
    assert order is not None and parcel is not None and warehouse is not None
    merchant = session.get(Merchant, order.merchant_id)
    assert merchant is not None
    lines = lines if lines is not None else _lines(session, order.id or 0)
    gross, net = _weights(lines, parcel)
    now = china_now()  # appTime and declTime are Beijing time, whatever the host's zone
    return Inventory(
        guid=new_guid(),
        app_time=now,
        app_type=app_type,
        order_no=order.order_no,
        ebp_code=merchant.ebp_code,
        ebp_name=merchant.ebp_name,
        ebc_code=merchant.ebc_code,
        ebc_name=merchant.ebc_name,
        logistics_no=parcel.waybill_no,
        logistics_code=warehouse.logistics_code,
        logistics_name=warehouse.logistics_name,
        cop_no=case.cop_no,
        pre_no=case.pre_no,
        invt_no=case.invt_no,
        assure_code=merchant.ebc_code,
        ems_no=warehouse.ems_no,
        decl_time=now.date(),
        customs_code=warehouse.customs_code,
        port_code=warehouse.port_code,
        buyer_id_number=order.buyer_id_number,
        buyer_name=order.buyer_name,
        buyer_telephone=order.buyer_phone,
        consignee_address=order.consignee_address,
        agent_code=warehouse.agent_code,
        agent_name=warehouse.agent_name,
        area_code=warehouse.area_code,
        area_name=warehouse.area_name,
        traf_mode=warehouse.traf_mode,
        loct_no=warehouse.loct_no,
        freight=order.freight,
        insured_fee=order.insured_fee,
        gross_weight=gross,
        net_weight=net,
        lines=lines,
    )


def transfer_for(warehouse: Warehouse) -> Transfer:
    return Transfer(
        cop_code=warehouse.cop_code, cop_name=warehouse.cop_name, dxp_id=warehouse.dxp_id
    )


def render_message(
    session: Session,
    case: ClearanceCase,
    *,
    app_type: str = "1",
    lines: tuple[InventoryLine, ...] | None = None,
) -> tuple[str, str]:
    """The guid and XML of a case's valid CEB621; invalid XML is refused with findings.

    The case may be transient (a batch builds its messages before inserting its cases).
    """
    inventory = build_inventory(session, case, app_type=app_type, lines=lines)
    refusal = weight_refusal(inventory)
    if refusal is not None:
        raise refusal
    warehouse = session.get(Warehouse, case.warehouse_id)
    assert warehouse is not None
    root = build_ceb621(inventory, transfer_for(warehouse))
    findings = validate(root)
    if findings:
        raise DeclarationInvalid(
            "declaration_invalid",
            _summary(findings),
            field=findings[0].path,
            details={"findings": [f.as_dict() for f in findings]},
        )
    return inventory.guid, to_bytes(root).decode()


def build_message(
    session: Session,
    case: ClearanceCase,
    *,
    app_type: str = "1",
    lines: tuple[InventoryLine, ...] | None = None,
) -> CustomsMessage:
    """Build, validate and store the CEB621 of a case; invalid XML is refused with findings.

    Nothing is added to the session unless the message is valid.
    """
    assert case.id is not None
    guid, xml = render_message(session, case, app_type=app_type, lines=lines)
    message = CustomsMessage(
        case_id=case.id, message_type="CEB621", guid=guid, app_type=app_type, xml=xml
    )
    session.add(message)
    session.flush()
    return message


def _summary(findings: list[Finding]) -> str:
    return "; ".join(f"{f.path}: {f.rule}" for f in findings[:3])


def pretty(xml: str) -> str:
    return etree.tostring(etree.fromstring(xml.encode()), pretty_print=True, encoding="unicode")
