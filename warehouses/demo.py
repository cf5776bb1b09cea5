"""Demo data: pavilion merchants, SKUs in every warehouse's account book, realistic orders."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlmodel import Session, select

from declarations.rules import id_check_digit
from warehouses.models import Merchant, Sku, Warehouse
from warehouses.profiles import sync_warehouses
from warehouses.schemas import Buyer, Consignee, LineIn, OrderIn

# (code, name, customs country code); the platform is a demo marketplace.
MERCHANTS = [
    ("nz-pavilion", "Kiwi Dairy Co.", "609"),
    ("au-pavilion", "Southern Cross Health", "601"),
    ("us-pavilion", "Liberty Nutrition Inc.", "502"),
    ("fr-pavilion", "Maison Beauté SA", "305"),
    ("ch-pavilion", "Alpen Vital AG", "331"),
    ("kr-pavilion", "Seoul Glow Cosmetics", "133"),
    ("jp-pavilion", "Sakura Baby KK", "116"),
]
# (sku, gname, gmodel, gcode, unit, unit1, qty1/unit, kg/unit, price, vat, consumption tax)
PRODUCTS = [
    (
        "FORMULA-900G",
        "婴幼儿配方奶粉",
        "3段|900克/罐|牛奶基",
        "1901101000",
        "122",
        "035",
        "0.9",
        "1.10",
        "239.00",
        "0.13",
        "0",
    ),
    (
        "VITC-120",
        "维生素C咀嚼片",
        "120粒/瓶|保健食品",
        "2106909090",
        "142",
        "035",
        "0.15",
        "0.20",
        "129.00",
        "0.13",
        "0",
    ),
    (
        "SERUM-30ML",
        "精华液",
        "30毫升/瓶|高档化妆品",
        "3304990099",
        "142",
        "035",
        "0.05",
        "0.12",
        "680.00",
        "0.13",
        "0.15",
    ),
    (
        "DIAPER-L",
        "婴儿纸尿裤",
        "L码|54片/包",
        "9619001100",
        "125",
        "035",
        "1.2",
        "1.35",
        "119.00",
        "0.13",
        "0",
    ),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰"]
CITIES = [
    ("110105", "北京市朝阳区建国路"),
    ("310115", "上海市浦东新区世纪大道"),
    ("440106", "广东省广州市天河区天河路"),
    ("330106", "浙江省杭州市西湖区文三路"),
    ("510107", "四川省成都市武侯区人民南路"),
    ("420106", "湖北省武汉市武昌区中南路"),
]


def seed_reference(session: Session) -> None:
    """Warehouses from the profiles, pavilion merchants, and every product in every book."""
    warehouses = sync_warehouses(session)
    merchants = [_merchant(session, *row) for row in MERCHANTS]
    existing = {(s.warehouse_id, s.merchant_id, s.sku) for s in session.exec(select(Sku))}
    for warehouse in warehouses:
        for merchant in merchants:
            for product in PRODUCTS:
                if (warehouse.id, merchant.id, product[0]) not in existing:
                    session.add(_sku(warehouse, merchant, product))
    session.flush()


def _merchant(session: Session, code: str, name: str, country: str) -> Merchant:
    found = session.exec(select(Merchant).where(Merchant.code == code)).first()
    if found:
        return found
    merchant = Merchant(
        code=code,
        name=name,
        country_code=country,
        ebc_code=f"DEMO{country}EBC"[:18],
        ebc_name=name,
        ebp_code="DEMO0000EBP",
        ebp_name="演示跨境电商平台",
    )
    session.add(merchant)
    session.flush()
    return merchant


def _sku(warehouse: Warehouse, merchant: Merchant, product: tuple[str, ...]) -> Sku:
    sku, gname, gmodel, gcode, unit, unit1, qty1, kg, _price, vat, ct = product
    assert warehouse.id is not None and merchant.id is not None
    return Sku(
        warehouse_id=warehouse.id,
        merchant_id=merchant.id,
        sku=sku,
        item_record_no=f"{warehouse.code}{merchant.id:03d}{sku[:10]}",
        gcode=gcode,
        gname=gname,
        gmodel=gmodel,
        bar_code=None,
        origin_country=merchant.country_code,
        unit=unit,
        unit1=unit1,
        qty1_per_unit=Decimal(qty1),
        unit_weight_kg=Decimal(kg),
        vat_rate=Decimal(vat),
        consumption_tax_rate=Decimal(ct),
    )


def fake_id_number(rng: random.Random, district: str) -> str:
    birth = f"{rng.randint(1970, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{district}{birth}{rng.randint(0, 999):03d}"
    return body + id_check_digit(body)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"


def _people(rng: random.Random) -> tuple[Buyer, Consignee]:
    district, street = rng.choice(CITIES)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = _phone(rng)
    buyer = Buyer(
        reg_no=f"buyer{rng.randint(1, 10**9)}",
        name=name,
        id_number=fake_id_number(rng, district),
        phone=phone,
    )
    address = f"{street}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室"
    return buyer, Consignee(name=name, phone=phone, address=address)


def demo_order(rng: random.Random, index: int, warehouse: str, run: str = "D") -> OrderIn:
    """One realistic order of a pavilion merchant at a warehouse, well within the limits."""
    merchant = rng.choice(MERCHANTS)[0]
    products = rng.sample(PRODUCTS, k=rng.randint(1, 2))
    lines = [
        LineIn(sku=p[0], qty=Decimal(rng.randint(1, 2)), price=Decimal(p[8])) for p in products
    ]
    buyer, consignee = _people(rng)
    return OrderIn(
        merchant=merchant,
        warehouse=warehouse,
        order_no=f"{run}{warehouse}{index:08d}",
        tracking_no=f"IN{run}{warehouse}{index:08d}",
        waybill_no=f"CW{run}{warehouse}{index:08d}",
        buyer=buyer,
        consignee=consignee,
        lines=lines,
        freight=Decimal("10.00"),
    )
