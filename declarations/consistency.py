"""Checks across one inventory and its order, payment and waybill (三单对碰, cbec-facts §5.3), and
the bonded 1210 / direct 9610 head rules (§2.7) — pure functions returning Problems."""

from __future__ import annotations

from decimal import Decimal

from declarations.codes import CONVEYANCE_TRAF_MODES, COUNTRY_CHINA
from declarations.model import BONDED, DIRECT, Inventory, Order311, Payment411, Waybill511
from declarations.rules import (
    CUSTOMS_TOLERANCE,
    Problem,
    amount_problems,
    line_total_problem,
    within,
)


def _missing(field: str, why: str) -> Problem:
    return Problem("missing_for_mode", field, f"{field} is mandatory {why}", f"{field}不能为空")


def _bonded_problems(inv: Inventory) -> list[Problem]:
    why = "for bonded 1210 declarations"
    problems = [
        _missing(name, why)
        for name, value in (
            ("emsNo", inv.ems_no),
            ("areaCode", inv.area_code),
            ("areaName", inv.area_name),
        )
        if not value
    ]
    problems += [
        _missing(f"InventoryList[{line.gnum}]/itemRecordNo", why)
        for line in inv.lines
        if not line.item_record_no
    ]
    if inv.country != COUNTRY_CHINA:
        problems.append(
            Problem(
                "bonded_country",
                "country",
                "a 1210 inventory ships from the bonded zone: its head country must be 142",
                "保税进口起运国应为142",
                inv.country,
            )
        )
    for name, value in (
        ("trafNo", inv.traf_no),
        ("voyageNo", inv.voyage_no),
        ("billNo", inv.bill_no),
    ):
        if value:
            problems.append(
                Problem(
                    "not_for_bonded",
                    name,
                    f"{name} belongs to direct-purchase 9610 declarations; leave it out for 1210",
                    f"保税进口不应填写{name}",
                    value,
                )
            )
    return problems


def _direct_problems(inv: Inventory) -> list[Problem]:
    if inv.traf_mode in CONVEYANCE_TRAF_MODES:
        return []
    return [
        Problem(
            "direct_traf_mode",
            "trafMode",
            "a 9610 inventory declares the cross-border leg: trafMode must be a conveyance "
            f"({', '.join(sorted(CONVEYANCE_TRAF_MODES))})",
            "直购进口运输方式应为实际运输工具",
            inv.traf_mode,
        )
    ]


def mode_problems(inv: Inventory) -> list[Problem]:
    """The head rules of the trade mode: 1210 needs the account book, zone enterprise and item
    record numbers and ships from 142; 9610 declares a real conveyance."""
    if inv.trade_mode == BONDED:
        problems = _bonded_problems(inv)
    elif inv.trade_mode == DIRECT:
        problems = _direct_problems(inv)
    else:
        return [
            Problem(
                "trade_mode",
                "tradeMode",
                "tradeMode must be 1210 or 9610",
                "贸易方式错误",
                inv.trade_mode,
            )
        ]
    return problems + _inventory_self_problems(inv)


def _inventory_self_problems(inv: Inventory) -> list[Problem]:
    problems = [
        p
        for line in inv.lines
        if (
            p := line_total_problem(
                f"InventoryList[{line.gnum}]", line.price, line.qty, line.total_price
            )
        )
    ]
    if inv.assure_code not in (inv.ebp_code, inv.ebc_code, inv.logistics_code):
        problems.append(
            Problem(
                "assure_code",
                "assureCode",
                "the guarantor must be the platform, the e-commerce enterprise or the carrier "
                "named on the inventory",
                "担保企业应为电商平台、电商企业或物流企业",
                inv.assure_code,
            )
        )
    if inv.net_weight > inv.gross_weight:
        problems.append(
            Problem(
                "net_over_gross",
                "netWeight",
                "net weight exceeds gross weight",
                "净重大于毛重",
                str(inv.net_weight),
            )
        )
    return problems


def _differs(
    code: str, field: str, a: str | None, b: str | None, what: str, zh: str
) -> list[Problem]:
    if (a or "").strip() == (b or "").strip():
        return []
    return [Problem(code, field, f"{field} differs from the {what}: {a!r} vs {b!r}", zh, a)]


def order_vs_inventory(
    order: Order311, inv: Inventory, tolerance: Decimal = CUSTOMS_TOLERANCE
) -> list[Problem]:
    """The inventory must carry the order's numbers, parties, buyer and goods."""
    problems: list[Problem] = []
    for field, a, b in (
        ("orderNo", inv.order_no, order.order_no),
        ("ebpCode", inv.ebp_code, order.ebp_code),
        ("ebcCode", inv.ebc_code, order.ebc_code),
        ("buyerName", inv.buyer_name, order.buyer_name),
        ("buyerIdNumber", inv.buyer_id_number.upper(), order.buyer_id_number.upper()),
    ):
        problems += _differs("order_mismatch", field, a, b, "order", f"清单与订单{field}不一致")
    return problems + _goods_vs_order(order, inv, tolerance)


def _goods_vs_order(order: Order311, inv: Inventory, tolerance: Decimal) -> list[Problem]:
    ordered = {line.gnum: line for line in order.lines}
    if sorted(ordered) != sorted(line.gnum for line in inv.lines):
        return [
            Problem(
                "lines_mismatch",
                "InventoryList/gnum",
                "inventory lines must map one-to-one onto the order lines by gnum",
                "清单商品项与订单商品项不对应",
            )
        ]
    problems = []
    for line in inv.lines:
        wanted = ordered[line.gnum]
        where = f"InventoryList[{line.gnum}]"
        if line.qty != wanted.qty:
            problems.append(
                Problem(
                    "qty_mismatch",
                    f"{where}/qty",
                    f"quantity {line.qty} differs from the order's {wanted.qty}",
                    "清单商品数量与订单不一致",
                    str(line.qty),
                )
            )
        if not within(line.total_price, wanted.total_price, tolerance):
            problems.append(
                Problem(
                    "price_mismatch",
                    f"{where}/totalPrice",
                    f"line total {line.total_price} differs from the order's "
                    f"{wanted.total_price} by more than {tolerance:.0%}",
                    "清单商品总价与订单不一致",
                    str(line.total_price),
                )
            )
    return problems


def order_amount_problems(order: Order311, tolerance: Decimal = CUSTOMS_TOLERANCE) -> list[Problem]:
    """The order's own arithmetic: line totals, goodsValue as their sum, acturalPaid."""
    problems = [
        p
        for line in order.lines
        if (
            p := line_total_problem(
                f"OrderList[{line.gnum}]", line.price, line.qty, line.total_price, tolerance
            )
        )
    ]
    goods = sum((line.total_price for line in order.lines), Decimal(0))
    if not within(order.goods_value, goods, tolerance):
        problems.append(
            Problem(
                "goods_value_mismatch",
                "goodsValue",
                f"goodsValue {order.goods_value} should be the sum of the line totals, {goods}",
                "订单货值与商品总价合计不符",
                str(order.goods_value),
            )
        )
    return problems + amount_problems(
        order.goods_value,
        order.freight,
        order.tax_total,
        order.discount,
        order.actural_paid,
        tolerance,
    )


def payment_vs_order(payment: Payment411, order: Order311) -> list[Problem]:
    """The payer must be the buyer, and the voucher must pay exactly what the order says."""
    problems: list[Problem] = []
    for field, a, b in (
        ("orderNo", payment.order_no, order.order_no),
        ("ebpCode", payment.ebp_code, order.ebp_code),
        ("payerName", payment.payer_name, order.buyer_name),
        ("payerIdNumber", payment.payer_id_number.upper(), order.buyer_id_number.upper()),
    ):
        problems += _differs(
            "payment_mismatch", field, a, b, "order's buyer", f"支付单{field}与订单不一致"
        )
    if order.pay_transaction_id:
        problems += _differs(
            "payment_mismatch",
            "payTransactionId",
            payment.pay_transaction_id,
            order.pay_transaction_id,
            "order",
            "支付交易编号与订单不一致",
        )
    if not within(payment.amount_paid, order.actural_paid, Decimal(0)):
        problems.append(
            Problem(
                "paid_amount_mismatch",
                "amountPaid",
                f"the payment of {payment.amount_paid} differs from the order's acturalPaid "
                f"{order.actural_paid}",
                "支付金额与订单实际支付金额不一致",
                str(payment.amount_paid),
            )
        )
    return problems


def waybill_vs_documents(
    waybill: Waybill511, order: Order311 | None, inv: Inventory
) -> list[Problem]:
    """The waybill must be the inventory's parcel and go to the order's consignee."""
    problems: list[Problem] = []
    for field, a, b in (
        ("logisticsNo", inv.logistics_no, waybill.logistics_no),
        ("logisticsCode", inv.logistics_code, waybill.logistics_code),
        ("orderNo", inv.order_no, waybill.order_no),
    ):
        problems += _differs("waybill_mismatch", field, a, b, "waybill", f"清单与运单{field}不一致")
    if order is not None:
        for field, a, b in (
            ("consignee", waybill.consignee, order.consignee),
            ("consigneeTelephone", waybill.consignee_telephone, order.consignee_telephone),
            ("consigneeAddress", waybill.consignee_address, order.consignee_address),
        ):
            problems += _differs(
                "consignee_mismatch", field, a, b, "order", f"运单{field}与订单不一致"
            )
    return problems


def three_document_problems(
    inv: Inventory,
    order: Order311 | None,
    payment: Payment411 | None,
    waybill: Waybill511 | None,
    tolerance: Decimal = CUSTOMS_TOLERANCE,
) -> list[Problem]:
    """Everything the 三单对碰 would reject; a missing document is itself a problem."""
    problems = [
        Problem(
            "missing_document",
            name,
            f"customs has no {name} for order {inv.order_no}",
            f"未收到{zh}",
            inv.order_no,
        )
        for name, zh, doc in (
            ("order", "订单", order),
            ("payment", "支付单", payment),
            ("waybill", "运单", waybill),
        )
        if doc is None
    ]
    if order is not None:
        problems += order_vs_inventory(order, inv, tolerance) + order_amount_problems(
            order, tolerance
        )
        if payment is not None:
            problems += payment_vs_order(payment, order)
    if waybill is not None:
        problems += waybill_vs_documents(waybill, order, inv)
    return problems
