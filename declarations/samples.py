"""A consistent set of real-looking declarations (order, payment, waybill, inventory, cancel,
return) for one bonded 1210 parcel: golden files, the bench and documentation use it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from declarations.fmt import CHINA_TZ
from declarations.model import (
    Cancel623,
    Inventory,
    InventoryLine,
    Order311,
    OrderLine311,
    Payment411,
    Refund625,
    RefundLine625,
    Transfer,
    Waybill511,
)

AT = datetime(2026, 11, 11, 10, 30, 5, tzinfo=CHINA_TZ)
ORDER_NO = "TM20261111000001"
WAYBILL = "YT1000000001"
BUYER = ("张三", "11010519491231002X", "13800138000")
PLATFORM = ("DEMO3301PF", "天猫国际")
SHOP = ("DEMO3301EC", "新西兰国家馆")


def _guid(n: int) -> str:
    return f"{n:08X}-0000-4000-8000-{n:012X}"


def transfer() -> Transfer:
    return Transfer(cop_code="DEMO3301BK", cop_name="杭州演示报关行", dxp_id="DXPENTDEMO00HZ01")


def inventory_line(gnum: int = 1) -> InventoryLine:
    return InventoryLine(
        gnum=gnum,
        item_record_no="NZA2900G",
        item_no="NZ-A2-900G",
        item_name="a2 Platinum 婴幼儿配方奶粉 3段 900g",
        gcode="1901101000",
        gname="婴幼儿配方奶粉",
        gmodel="4|3|乳粉、乳糖、植物油|900g/罐|a2 Platinum|3段",
        bar_code="9421902960055",
        country="609",
        qty=Decimal(2),
        unit="122",
        qty1=Decimal("1.8"),
        unit1="035",
        price=Decimal("239.00"),
        total_price=Decimal("478.00"),
    )


def inventory(**changes: Any) -> Inventory:
    """The bonded 1210 inventory of the sample parcel (Hangzhou e-commerce office 2928)."""
    base = Inventory(
        guid=_guid(621),
        app_time=AT,
        order_no=ORDER_NO,
        ebp_code=PLATFORM[0],
        ebp_name=PLATFORM[1],
        ebc_code=SHOP[0],
        ebc_name=SHOP[1],
        logistics_no=WAYBILL,
        logistics_code="DEMO3301LG",
        logistics_name="演示物流(杭州)",
        cop_no="CW2928000000001",
        assure_code=SHOP[0],
        ems_no="DEMO2928E0001",
        decl_time=date(2026, 11, 11),
        customs_code="2928",
        port_code="2928",
        buyer_name=BUYER[0],
        buyer_id_number=BUYER[1],
        buyer_telephone=BUYER[2],
        consignee_address="浙江省杭州市西湖区文三路1号",
        agent_code="DEMO3301BK",
        agent_name="杭州演示报关行",
        area_code="DEMO33010A",
        area_name="杭州演示保税仓储有限公司",
        traf_mode="Y",
        freight=Decimal("10.00"),
        insured_fee=Decimal("0"),
        gross_weight=Decimal("2.1"),
        net_weight=Decimal("1.8"),
        lines=(inventory_line(),),
        wrap_type="2",
    )
    return replace(base, **changes)


def order(**changes: Any) -> Order311:
    """The platform's order: 2 × 239.00 formula, 9.1% tax 43.50, freight 10 → paid 531.50."""
    line = OrderLine311(
        gnum=1,
        item_no="NZ-A2-900G",
        item_name="婴幼儿配方奶粉",
        gmodel="4|3|乳粉、乳糖、植物油|900g/罐|a2 Platinum|3段",
        bar_code="9421902960055",
        unit="122",
        qty=Decimal(2),
        price=Decimal("239.00"),
        total_price=Decimal("478.00"),
        country="609",
    )
    base = Order311(
        guid=_guid(311),
        app_time=AT,
        order_no=ORDER_NO,
        ebp_code=PLATFORM[0],
        ebp_name=PLATFORM[1],
        ebc_code=SHOP[0],
        ebc_name=SHOP[1],
        goods_value=Decimal("478.00"),
        freight=Decimal("10.00"),
        discount=Decimal("0"),
        tax_total=Decimal("43.50"),
        actural_paid=Decimal("531.50"),
        buyer_reg_no="tmall_buyer_0001",
        buyer_name=BUYER[0],
        buyer_telephone=BUYER[2],
        buyer_id_number=BUYER[1],
        pay_code="DEMO3101PY",
        pay_name="演示支付",
        pay_transaction_id="PAY2026111100000001",
        consignee="李四",
        consignee_telephone="13912345678",
        consignee_address="浙江省杭州市西湖区文三路1号",
        consignee_district="330106",
        lines=(line,),
    )
    return replace(base, **changes)


def payment(**changes: Any) -> Payment411:
    base = Payment411(
        guid=_guid(411),
        app_time=AT,
        pay_code="DEMO3101PY",
        pay_name="演示支付",
        pay_transaction_id="PAY2026111100000001",
        order_no=ORDER_NO,
        ebp_code=PLATFORM[0],
        ebp_name=PLATFORM[1],
        payer_id_number=BUYER[1],
        payer_name=BUYER[0],
        telephone=BUYER[2],
        amount_paid=Decimal("531.50"),
        pay_time=AT,
    )
    return replace(base, **changes)


def waybill(**changes: Any) -> Waybill511:
    base = Waybill511(
        guid=_guid(511),
        app_time=AT,
        logistics_code="DEMO3301LG",
        logistics_name="演示物流(杭州)",
        logistics_no=WAYBILL,
        order_no=ORDER_NO,
        freight=Decimal("10.00"),
        weight=Decimal("2.1"),
        goods_info="婴幼儿配方奶粉 2罐",
        consignee="李四",
        consignee_address="浙江省杭州市西湖区文三路1号",
        consignee_telephone="13912345678",
    )
    return replace(base, **changes)


def _parties(inv: Inventory) -> dict[str, Any]:
    names = (
        "customs_code order_no ebp_code ebp_name ebc_code ebc_name logistics_no logistics_code "
        "logistics_name cop_no pre_no buyer_id_number buyer_name buyer_telephone agent_code "
        "agent_name"
    )
    return {name: getattr(inv, name) for name in names.split()}


def cancel(inv: Inventory | None = None, **changes: Any) -> Cancel623:
    inv = inv or inventory(pre_no="B20261111000000001", invt_no="29282026I000000001")
    base = Cancel623(
        guid=_guid(623),
        app_time=AT,
        invt_no=inv.invt_no or "",
        reason="交易订单取消,买家申请退款",
        **_parties(inv),
    )
    return replace(base, **changes)


def refund(inv: Inventory | None = None, **changes: Any) -> Refund625:
    inv = inv or inventory(pre_no="B20261111000000001", invt_no="29282026I000000001")
    lines = tuple(
        RefundLine625(gnum=ln.gnum, gcode=ln.gcode, gname=ln.gname, qty=ln.qty, unit=ln.unit)
        for ln in inv.lines
    )
    base = Refund625(
        guid=_guid(625),
        app_time=AT,
        invt_no=inv.invt_no or "",
        reason="买家七天无理由退货",
        lines=lines,
        **_parties(inv),
    )
    return replace(base, **changes)
