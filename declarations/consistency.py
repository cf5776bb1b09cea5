"""Checks across one inventory and its order, payment and waybill (三单对碰, cbec-facts §5.3), and
the bonded 1210 / direct 9610 head rules (§2.7) — pure functions returning Problems."""

from __future__ import annotations

from decimal import Decimal

from declarations.codes import CONVEYANCE_TRAF_MODES, COUNTRY_CHINA
from declarations.model import (
    BONDED,
    DIRECT,
    Inventory,
    InventoryLine,
    Order311,
    OrderLine311,
    Payment411,
    Waybill511,
)
from declarations.rules import (
    CUSTOMS_TOLERANCE,
    Problem,
    amount_problems,
    line_total_problem,
    within,
)

Pairs = tuple[tuple[str, str | None, str | None], ...]
BONDED_WHY = "for bonded 1210 declarations"


def _missing(field: str) -> Problem:
    return Problem(
        "missing_for_mode", field, f"{field} is mandatory {BONDED_WHY}", f"{field}不能为空"
    )


def _not_for_bonded(field: str, value: str) -> Problem:
    why = f"{field} belongs to direct-purchase 9610 declarations; leave it out for 1210"
    return Problem("not_for_bonded", field, why, f"保税进口不应填写{field}", value)


def _bonded_problems(inv: Inventory) -> list[Problem]:
    """1210: account book, zone enterprise and item records present; ships from 142 (§2.7)."""
    required = (("emsNo", inv.ems_no), ("areaCode", inv.area_code), ("areaName", inv.area_name))
    problems = [_missing(name) for name, value in required if not value]
    problems += [
        _missing(f"InventoryList[{line.gnum}]/itemRecordNo")
        for line in inv.lines
        if not line.item_record_no
    ]
    if inv.country != COUNTRY_CHINA:
        why = "a 1210 inventory ships from the bonded zone: its head country must be 142"
        problems.append(
            Problem("bonded_country", "country", why, "保税进口起运国应为142", inv.country)
        )
    direct_only = (("trafNo", inv.traf_no), ("voyageNo", inv.voyage_no), ("billNo", inv.bill_no))
    return problems + [_not_for_bonded(name, value) for name, value in direct_only if value]


def _direct_problems(inv: Inventory) -> list[Problem]:
    """9610 declares the cross-border leg, so trafMode is a conveyance, not a zone code."""
    if inv.traf_mode in CONVEYANCE_TRAF_MODES:
        return []
    allowed = ", ".join(sorted(CONVEYANCE_TRAF_MODES))
    why = f"a 9610 inventory declares the cross-border leg: trafMode must be one of {allowed}"
    return [
        Problem(
            "direct_traf_mode", "trafMode", why, "直购进口运输方式应为实际运输工具", inv.traf_mode
        )
    ]


def mode_problems(inv: Inventory) -> list[Problem]:
    """The head rules of the trade mode plus the inventory's own arithmetic and parties."""
    if inv.trade_mode == BONDED:
        problems = _bonded_problems(inv)
    elif inv.trade_mode == DIRECT:
        problems = _direct_problems(inv)
    else:
        why = "tradeMode must be 1210 or 9610"
        return [Problem("trade_mode", "tradeMode", why, "贸易方式错误", inv.trade_mode)]
    return problems + _inventory_self_problems(inv)


def _line_totals(inv: Inventory) -> list[Problem]:
    found = (
        line_total_problem(f"InventoryList[{ln.gnum}]", ln.price, ln.qty, ln.total_price)
        for ln in inv.lines
    )
    return [p for p in found if p]


def _guarantor_problem(inv: Inventory) -> Problem | None:
    """assureCode names the platform, the e-commerce enterprise or the carrier (§2.7, [V XA])."""
    if inv.assure_code in (inv.ebp_code, inv.ebc_code, inv.logistics_code):
        return None
    why = "the guarantor must be the platform, the e-commerce enterprise or the carrier"
    zh = "担保企业应为电商平台、电商企业或物流企业"
    return Problem("assure_code", "assureCode", why, zh, inv.assure_code)


def _weight_problem(inv: Inventory) -> Problem | None:
    if inv.net_weight <= inv.gross_weight:
        return None
    why = "net weight exceeds gross weight"
    return Problem("net_over_gross", "netWeight", why, "净重大于毛重", str(inv.net_weight))


def _inventory_self_problems(inv: Inventory) -> list[Problem]:
    extra = (_guarantor_problem(inv), _weight_problem(inv))
    return _line_totals(inv) + [p for p in extra if p]


def _differences(code: str, pairs: Pairs, what: str, zh: str) -> list[Problem]:
    """A Problem for each (field, ours, theirs) that differs; blanks around values ignored."""
    return [
        Problem(
            code, field, f"{field} differs from the {what}: {a!r} vs {b!r}", f"{zh}{field}不一致", a
        )
        for field, a, b in pairs
        if (a or "").strip() != (b or "").strip()
    ]


def order_vs_inventory(
    order: Order311, inv: Inventory, tolerance: Decimal = CUSTOMS_TOLERANCE
) -> list[Problem]:
    """The inventory must carry the order's numbers, parties, buyer and goods."""
    pairs: Pairs = (
        ("orderNo", inv.order_no, order.order_no),
        ("ebpCode", inv.ebp_code, order.ebp_code),
        ("ebcCode", inv.ebc_code, order.ebc_code),
        ("buyerName", inv.buyer_name, order.buyer_name),
        ("buyerIdNumber", inv.buyer_id_number.upper(), order.buyer_id_number.upper()),
    )
    return _differences("order_mismatch", pairs, "order", "清单与订单") + _goods_vs_order(
        order, inv, tolerance
    )


def _goods_vs_order(order: Order311, inv: Inventory, tolerance: Decimal) -> list[Problem]:
    """Lines map one-to-one by gnum with the same quantity and total (within the tolerance)."""
    ordered = {line.gnum: line for line in order.lines}
    if sorted(ordered) != sorted(line.gnum for line in inv.lines):
        why = "inventory lines must map one-to-one onto the order lines by gnum"
        return [
            Problem("lines_mismatch", "InventoryList/gnum", why, "清单商品项与订单商品项不对应")
        ]
    problems = []
    for line in inv.lines:
        wanted, where = ordered[line.gnum], f"InventoryList[{line.gnum}]"
        problems += _item_problems(line, wanted, where)
        if line.qty != wanted.qty:
            why = f"quantity {line.qty} differs from the order's {wanted.qty}"
            problems.append(
                Problem("qty_mismatch", f"{where}/qty", why, "清单商品数量与订单不一致")
            )
        if not within(line.total_price, wanted.total_price, tolerance):
            why = f"total {line.total_price} differs from the order's {wanted.total_price}"
            zh = "清单商品总价与订单不一致"
            problems.append(Problem("price_mismatch", f"{where}/totalPrice", why, zh))
    return problems


def _item_problems(line: InventoryLine, wanted: OrderLine311, where: str) -> list[Problem]:
    """The same goods: the platform's item number (when both carry one) and the goods name
    (§5.3: gname agrees with the order)."""
    problems = []
    if line.item_no and wanted.item_no and line.item_no.strip() != wanted.item_no.strip():
        why = f"item {line.item_no} differs from the order's {wanted.item_no}"
        zh = "清单商品货号与订单不一致"
        problems.append(Problem("goods_mismatch", f"{where}/itemNo", why, zh, line.item_no))
    if line.gname.strip() != wanted.item_name.strip():
        why = f"goods {line.gname!r} differ from the order's {wanted.item_name!r}"
        zh = "清单商品名称与订单不一致"
        problems.append(Problem("goods_mismatch", f"{where}/gname", why, zh, line.gname))
    return problems


def order_amount_problems(order: Order311, tolerance: Decimal = CUSTOMS_TOLERANCE) -> list[Problem]:
    """The order's own arithmetic: line totals, goodsValue as their sum, acturalPaid (§5.2)."""
    found = (
        line_total_problem(f"OrderList[{ln.gnum}]", ln.price, ln.qty, ln.total_price, tolerance)
        for ln in order.lines
    )
    problems = [p for p in found if p]
    goods = sum((line.total_price for line in order.lines), Decimal(0))
    if not within(order.goods_value, goods, tolerance):
        why = f"goodsValue {order.goods_value} should be the sum of the line totals, {goods}"
        zh = "订单货值与商品总价合计不符"
        problems.append(
            Problem("goods_value_mismatch", "goodsValue", why, zh, str(order.goods_value))
        )
    paid = amount_problems(
        order.goods_value,
        order.freight,
        order.tax_total,
        order.discount,
        order.actural_paid,
        tolerance,
    )
    return problems + paid


def payment_vs_order(payment: Payment411, order: Order311) -> list[Problem]:
    """The payer must be the buyer, and the voucher must pay exactly what the order says."""
    pairs: Pairs = (
        ("orderNo", payment.order_no, order.order_no),
        ("ebpCode", payment.ebp_code, order.ebp_code),
        ("payerName", payment.payer_name, order.buyer_name),
        ("payerIdNumber", payment.payer_id_number.upper(), order.buyer_id_number.upper()),
    )
    if order.pay_transaction_id:
        pairs += (("payTransactionId", payment.pay_transaction_id, order.pay_transaction_id),)
    problems = _differences("payment_mismatch", pairs, "order's buyer", "支付单与订单")
    if not within(payment.amount_paid, order.actural_paid, Decimal(0)):
        why = f"paid {payment.amount_paid}, but the order's acturalPaid is {order.actural_paid}"
        zh = "支付金额与订单实际支付金额不一致"
        problems.append(
            Problem("paid_amount_mismatch", "amountPaid", why, zh, str(payment.amount_paid))
        )
    return problems


def waybill_vs_documents(
    waybill: Waybill511, order: Order311 | None, inv: Inventory
) -> list[Problem]:
    """The waybill must be the inventory's parcel and go to the order's consignee."""
    parcel: Pairs = (
        ("logisticsNo", inv.logistics_no, waybill.logistics_no),
        ("logisticsCode", inv.logistics_code, waybill.logistics_code),
        ("orderNo", inv.order_no, waybill.order_no),
    )
    problems = _differences("waybill_mismatch", parcel, "waybill", "清单与运单")
    if order is None:
        return problems
    consignee: Pairs = (
        ("consignee", waybill.consignee, order.consignee),
        ("consigneeTelephone", waybill.consignee_telephone, order.consignee_telephone),
        ("consigneeAddress", waybill.consignee_address, order.consignee_address),
    )
    return problems + _differences("consignee_mismatch", consignee, "order", "运单与订单")


def _missing_documents(
    inv: Inventory, order: object, payment: object, waybill: object
) -> list[Problem]:
    present = (
        ("order", "订单", order),
        ("payment", "支付单", payment),
        ("waybill", "运单", waybill),
    )
    return [
        Problem(
            "missing_document", name, f"customs has no {name} for {inv.order_no}", f"未收到{zh}"
        )
        for name, zh, doc in present
        if doc is None
    ]


def three_document_problems(
    inv: Inventory,
    order: Order311 | None,
    payment: Payment411 | None,
    waybill: Waybill511 | None,
    tolerance: Decimal = CUSTOMS_TOLERANCE,
) -> list[Problem]:
    """Everything the 三单对碰 would reject; a missing document is itself a problem."""
    problems = _missing_documents(inv, order, payment, waybill)
    if order is not None:
        problems += order_vs_inventory(order, inv, tolerance) + order_amount_problems(
            order, tolerance
        )
        if payment is not None:
            problems += payment_vs_order(payment, order)
    if waybill is not None:
        problems += waybill_vs_documents(waybill, order, inv)
    return problems
