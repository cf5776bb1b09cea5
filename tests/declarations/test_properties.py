"""Property: every order the intake API accepts (warehouses/schemas.py OrderIn and the intake
rules) yields XSD-valid CEB311, CEB411, CEB511 and CEB621 messages that pass the three-document
checks, built through the pure path the pipeline uses."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from declarations import rules, samples
from declarations.build import build_checked
from declarations.consistency import three_document_problems
from declarations.model import Inventory, InventoryLine, Order311, OrderLine311
from declarations.read import read_document

# (gcode, gname, unit, unit1, qty1 per unit, VAT, consumption tax) of the demo account book
SKUS = [
    ("1901101000", "婴幼儿配方奶粉", "122", "035", Decimal("0.9"), Decimal("0.13"), Decimal(0)),
    ("2106909090", "维生素C咀嚼片", "142", "035", Decimal("0.15"), Decimal("0.13"), Decimal(0)),
    ("3304990099", "精华液", "142", "035", Decimal("0.05"), Decimal("0.13"), Decimal("0.15")),
    ("9619001100", "婴儿纸尿裤", "125", "035", Decimal("1.2"), Decimal("0.13"), Decimal(0)),
]


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """What a pydantic str field accepts: any code point but lone surrogates (JSON has none)."""
    return st.text(st.characters(exclude_categories=["Cs"]), min_size=min_size, max_size=max_size)


money = st.decimals(min_value=0, max_value=Decimal("2000"), places=2)
quantity = st.one_of(
    st.integers(1, 20).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(20), places=5),
)


@st.composite
def lines(draw: st.DrawFn) -> list[tuple[InventoryLine, OrderLine311, rules.LineTax]]:
    result = []
    for gnum in range(1, draw(st.integers(1, 4)) + 1):
        gcode, gname, unit, unit1, per_unit, vat, ct = draw(st.sampled_from(SKUS))
        qty, price = draw(quantity), draw(money)
        total = rules.round_money(price * qty)
        item = {"gnum": gnum, "qty": qty, "price": price, "total_price": total, "unit": unit}
        inv_line = InventoryLine(
            item_record_no=draw(text(1, 30)),
            item_no=draw(text(1, 30)),
            item_name=gname,
            gcode=gcode,
            gname=gname,
            gmodel=draw(text(1, 510)),
            bar_code=None,
            country="609",
            qty1=per_unit * qty,
            unit1=unit1,
            **item,  # type: ignore[arg-type]
        )
        order_line = OrderLine311(item_name=gname, gmodel=inv_line.gmodel, country="609", **item)  # type: ignore[arg-type]
        result.append((inv_line, order_line, rules.line_tax(total, vat, ct)))
    return result


@st.composite
def accepted_orders(draw: st.DrawFn) -> tuple[Inventory, Order311]:
    drawn = draw(lines())
    goods = sum((o.total_price for _, o, _ in drawn), Decimal(0))
    tax = sum((t.total for _, _, t in drawn), Decimal(0))
    freight, discount = draw(money), draw(st.decimals(min_value=0, max_value=goods, places=2))
    paid = rules.expected_paid(goods, freight, tax, discount)
    assume(not rules.over_single_limit(paid))
    district = draw(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2008, 12, 31)))
    body = f"{district}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    buyer = {
        "order_no": draw(text(1, 60)),
        "buyer_name": draw(text(1, 60)),
        "buyer_telephone": draw(text(5, 30)),
        "buyer_id_number": body + rules.id_check_digit(body),
    }
    consignee = {
        "name": draw(text(1, 100)),
        "phone": draw(text(5, 50)),
        "address": draw(text(1, 200)),
    }
    inventory = samples.inventory(
        lines=tuple(i for i, _, _ in drawn),
        freight=freight,
        consignee_address=consignee["address"],
        logistics_no=draw(text(1, 60)),
        **buyer,
    )
    order = samples.order(
        lines=tuple(o for _, o, _ in drawn),
        goods_value=goods,
        freight=freight,
        discount=discount,
        tax_total=tax,
        actural_paid=paid,
        buyer_reg_no=draw(text(1, 60)),
        consignee=consignee["name"],
        consignee_telephone=consignee["phone"],
        consignee_address=consignee["address"],
        **buyer,
    )
    return inventory, order


def _valid(doc: object) -> None:
    checked = build_checked(doc, samples.transfer())  # type: ignore[arg-type]
    assert checked.ok, [f.as_dict() for f in checked.findings]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accepted_orders())
def test_every_accepted_order_yields_valid_messages_that_agree(
    pair: tuple[Inventory, Order311],
) -> None:
    inventory, order = pair
    payment = samples.payment(
        order_no=order.order_no,
        payer_name=order.buyer_name,
        payer_id_number=order.buyer_id_number,
        amount_paid=order.actural_paid,
    )
    waybill = samples.waybill(
        order_no=order.order_no,
        logistics_no=inventory.logistics_no,
        consignee=order.consignee,
        consignee_telephone=order.consignee_telephone,
        consignee_address=order.consignee_address,
    )
    for doc in (inventory, order, payment, waybill):
        _valid(doc)
    assert three_document_problems(inventory, order, payment, waybill) == []


printable = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(name=printable, note=printable, qty=quantity, price=money)
def test_inventory_round_trips_through_xml(
    name: str, note: str, qty: Decimal, price: Decimal
) -> None:
    line = dataclasses.replace(
        samples.inventory_line(),
        qty=qty,
        qty1=qty,
        price=price,
        total_price=rules.round_money(price * qty),
    )
    inventory = samples.inventory(buyer_name=name, note=note, lines=(line,))
    checked = build_checked(inventory, samples.transfer())
    assert checked.ok
    back = read_document(checked.root)
    assert isinstance(back, Inventory)
    assert (back.buyer_name, back.note, back.lines[0].qty) == (name, note, qty.normalize())
