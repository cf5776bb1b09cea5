"""Builds the CEB311 order, CEB411 payment and CEB511 waybill of a case from its order, parcel and
warehouse, validated against the XSD (the fields that tie them together: cbec-facts §5.3)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from clearance.pipeline.declare import DeclarationInvalid, new_guid, transfer_for
from declarations.build import build_checked
from declarations.fmt import china_now, china_time
from declarations.model import Order311, OrderLine311, Payment411, Waybill511
from warehouses.models import Merchant, Order, OrderLine, Parcel, Sku, Warehouse

Paper = Order311 | Payment411 | Waybill511


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def order_lines(session: Session, order_id: int) -> tuple[OrderLine311, ...]:
    """The OrderList of an order: one line per SKU, in gnum order."""
    rows = session.exec(
        select(OrderLine, Sku)
        .join(Sku, col(Sku.id) == col(OrderLine.sku_id))
        .where(col(OrderLine.order_id) == order_id)
        .order_by(col(OrderLine.gnum))
    )
    return tuple(_line(line, sku) for line, sku in rows)


def _line(line: OrderLine, sku: Sku) -> OrderLine311:
    return OrderLine311(
        gnum=line.gnum,
        item_name=sku.gname,
        gmodel=sku.gmodel,
        unit=sku.unit,
        qty=line.qty,
        price=line.price,
        total_price=line.total_price,
        country=sku.origin_country,
        item_no=sku.sku,
        bar_code=sku.bar_code,
    )


def order_paper(order: Order, merchant: Merchant, lines: tuple[OrderLine311, ...]) -> Order311:
    """CEB311: the order as the platform sold it (acturalPaid as stored at intake, §5.2)."""
    return Order311(
        guid=new_guid(),
        app_time=china_now(),
        order_no=order.order_no,
        ebp_code=merchant.ebp_code,
        ebp_name=merchant.ebp_name,
        ebc_code=merchant.ebc_code,
        ebc_name=merchant.ebc_name,
        goods_value=order.goods_value,
        freight=order.freight,
        discount=order.discount,
        tax_total=order.tax_total,
        actural_paid=order.actural_paid,
        buyer_reg_no=order.buyer_reg_no,
        buyer_name=order.buyer_name,
        buyer_telephone=order.buyer_phone,
        buyer_id_number=order.buyer_id_number,
        consignee=order.consignee_name,
        consignee_telephone=order.consignee_phone,
        consignee_address=order.consignee_address,
        lines=lines,
        pay_code=order.pay_code,
        pay_name=order.pay_name,
        pay_transaction_id=order.pay_transaction_id,
    )


def payment_paper(order: Order, merchant: Merchant) -> Payment411:
    """CEB411: the buyer is the payer and amountPaid equals acturalPaid (§5.3 check 7)."""
    missing = [
        name
        for name, value in (
            ("payCode", order.pay_code),
            ("payName", order.pay_name),
            ("payTransactionId", order.pay_transaction_id),
        )
        if not value
    ]
    if missing:
        raise DeclarationInvalid(
            "payment_incomplete",
            f"the order lacks {', '.join(missing)} for a payment declaration",
            field=missing[0],
            message_zh=f"订单缺少支付信息 {', '.join(missing)}，无法申报支付单",
        )
    assert order.pay_code and order.pay_name and order.pay_transaction_id
    return Payment411(
        guid=new_guid(),
        app_time=china_now(),
        pay_code=order.pay_code,
        pay_name=order.pay_name,
        pay_transaction_id=order.pay_transaction_id,
        order_no=order.order_no,
        ebp_code=merchant.ebp_code,
        ebp_name=merchant.ebp_name,
        payer_id_number=order.buyer_id_number,
        payer_name=order.buyer_name,
        telephone=order.buyer_phone,
        amount_paid=order.actural_paid,
        pay_time=china_time(_aware(order.created_at)),
    )


def waybill_paper(order: Order, parcel: Parcel, warehouse: Warehouse) -> Waybill511:
    """CEB511: the label number as logisticsNo, the order's consignee (§2.6, §5.3)."""
    return Waybill511(
        guid=new_guid(),
        app_time=china_now(),
        logistics_code=warehouse.logistics_code,
        logistics_name=warehouse.logistics_name,
        logistics_no=parcel.waybill_no,
        order_no=order.order_no,
        weight=parcel.weight_kg or parcel.expected_weight_kg,
        consignee=order.consignee_name,
        consignee_address=order.consignee_address,
        consignee_telephone=order.consignee_phone,
        freight=order.freight,
    )


def render_paper(paper: Paper, warehouse: Warehouse) -> str:
    """The XML of a valid document; a document that breaks the XSD is refused with findings."""
    checked = build_checked(paper, transfer_for(warehouse))
    if not checked.ok:
        first = checked.findings[0]
        raise DeclarationInvalid(
            "declaration_invalid",
            "; ".join(f"{f.path}: {f.rule}" for f in checked.findings[:3]),
            field=first.path,
            details={"findings": [f.as_dict() for f in checked.findings]},
        )
    return checked.data.decode()
