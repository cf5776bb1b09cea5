"""Field order and value kinds of every CEB block (cbec-facts §2), shared by builder and reader."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from declarations import model


class Kind(Enum):
    TEXT = "text"
    MONEY = "money"
    QTY = "qty"
    TIME = "time"
    DATE = "date"
    INT = "int"
    BARCODE = "barcode"  # "无" when the item has none (§2.8)
    DISTRICT = "district"  # consigneeDitrict / consigneeDistrict, per Options (§9.1)


@dataclass(frozen=True)
class Field:
    tag: str
    attr: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Block:
    """One element holding fields in order, e.g. InventoryHead."""

    tag: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class MessageSpec:
    """A message: root name, business wrapper, head block and optional list block."""

    message_type: str
    wrapper: str | None
    head: Block
    lines: Block | None
    cls: type
    line_cls: type | None = None


def _f(spec: str) -> tuple[Field, ...]:
    """Parse 'tag:attr:kind' lines; attr defaults to snake_case, kind to text."""
    fields = []
    for item in spec.split():
        tag, _, rest = item.partition(":")
        attr, _, kind = rest.partition(":")
        fields.append(Field(tag, attr or _snake(tag), Kind(kind) if kind else Kind.TEXT))
    return tuple(fields)


def _snake(tag: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in tag)


_COMMON = "guid appType appTime::time appStatus "

ORDER_HEAD = _f(
    _COMMON + "orderType orderNo ebpCode ebpName ebcCode ebcName goodsValue::money "
    "freight::money discount::money taxTotal::money acturalPaid::money currency buyerRegNo "
    "buyerName buyerTelephone buyerIdType buyerIdNumber payCode payName payTransactionId "
    "batchNumbers consignee consigneeTelephone consigneeAddress "
    "consigneeDitrict:consignee_district:district note"
)
ORDER_LIST = _f(
    "gnum::int itemNo itemName gmodel itemDescribe barCode unit qty::qty price::money "
    "totalPrice::money currency country note"
)
PAYMENT_HEAD = _f(
    _COMMON + "payCode payName payTransactionId orderNo ebpCode ebpName payerIdType "
    "payerIdNumber payerName telephone amountPaid::money currency payTime::time note"
)
LOGISTICS_HEAD = _f(
    _COMMON + "logisticsCode logisticsName logisticsNo billNo orderNo freight::money "
    "insuredFee::money currency weight::qty packNo::int goodsInfo consignee consigneeAddress "
    "consigneeTelephone note"
)
INVENTORY_HEAD = _f(
    _COMMON + "orderNo ebpCode ebpName ebcCode ebcName logisticsNo logisticsCode logisticsName "
    "copNo preNo assureCode emsNo invtNo ieFlag declTime::date customsCode portCode "
    "ieDate::date buyerIdType buyerIdNumber buyerName buyerTelephone consigneeAddress agentCode "
    "agentName areaCode areaName tradeMode trafMode trafNo voyageNo billNo loctNo licenseNo "
    "country freight::money insuredFee::money currency wrapType packNo::int grossWeight::qty "
    "netWeight::qty note"
)
INVENTORY_LIST = _f(
    "gnum::int itemRecordNo itemNo itemName gcode gname gmodel barCode::barcode country "
    "tradeCountry currency qty::qty unit qty1::qty unit1 qty2::qty unit2 price::money "
    "totalPrice::money note"
)
_PARTIES = (
    "customsCode orderNo ebpCode ebpName ebcCode ebcName logisticsNo logisticsCode "
    "logisticsName copNo preNo invtNo buyerIdType buyerIdNumber buyerName buyerTelephone "
    "agentCode agentName reason note"
)
CANCEL = _f(_COMMON + _PARTIES)
REFUND_HEAD = _f(_COMMON + _PARTIES)
REFUND_LIST = _f("gnum::int gcode gname qty::qty unit note")

SPECS: dict[str, MessageSpec] = {
    "CEB311": MessageSpec(
        "CEB311",
        "Order",
        Block("OrderHead", ORDER_HEAD),
        Block("OrderList", ORDER_LIST),
        model.Order311,
        model.OrderLine311,
    ),
    "CEB411": MessageSpec(
        "CEB411", None, Block("PaymentHead", PAYMENT_HEAD), None, model.Payment411
    ),
    "CEB511": MessageSpec(
        "CEB511", "Logistics", Block("LogisticsHead", LOGISTICS_HEAD), None, model.Waybill511
    ),
    "CEB621": MessageSpec(
        "CEB621",
        "Inventory",
        Block("InventoryHead", INVENTORY_HEAD),
        Block("InventoryList", INVENTORY_LIST),
        model.Inventory,
        model.InventoryLine,
    ),
    "CEB623": MessageSpec("CEB623", None, Block("InvtCancel", CANCEL), None, model.Cancel623),
    "CEB625": MessageSpec(
        "CEB625",
        "InvtRefund",
        Block("InvtRefundHead", REFUND_HEAD),
        Block("InvtRefundList", REFUND_LIST),
        model.Refund625,
        model.RefundLine625,
    ),
}
SPEC_OF_CLASS: dict[type, MessageSpec] = {spec.cls: spec for spec in SPECS.values()}
TRANSFER = _f("copCode copName dxpMode dxpId note")
