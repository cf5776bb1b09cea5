"""How the simulator words a refusal: free Chinese text in the style of customs' real returnInfo
(cbec-facts §2.9: "清单新增申报成功[电商企业编码：…订单编号：…]"), naming things as a customs
officer does, not by XML element or by our own problem codes."""

from __future__ import annotations

import re

from declarations.rules import Problem

# What customs calls the fields it names (Chinese labels of the CEB field tables, §2.3–2.8).
FIELD_LABELS: dict[str, str] = {
    "orderNo": "订单编号",
    "ebpCode": "电商平台代码",
    "ebcCode": "电商企业代码",
    "buyerName": "订购人姓名",
    "buyerIdNumber": "订购人证件号码",
    "buyerTelephone": "订购人电话",
    "consignee": "收货人",
    "consigneeTelephone": "收货人电话",
    "consigneeAddress": "收货地址",
    "logisticsNo": "物流运单编号",
    "logisticsCode": "物流企业代码",
    "payerName": "支付人姓名",
    "payerIdNumber": "支付人证件号码",
    "payTransactionId": "支付交易编号",
    "acturalPaid": "实际支付金额",
    "amountPaid": "支付金额",
    "goodsValue": "商品价格",
    "emsNo": "账册编号",
    "areaCode": "区内企业代码",
    "areaName": "区内企业名称",
    "itemRecordNo": "账册备案料号",
    "trafNo": "运输工具编号",
    "voyageNo": "航班航次号",
    "billNo": "提运单号",
    "country": "起运国",
    "tradeMode": "贸易方式",
    "trafMode": "运输方式",
    "assureCode": "担保企业编号",
    "netWeight": "净重",
    "copNo": "企业内部编号",
    "appType": "申报类型",
    "gname": "商品名称",
    "itemNo": "商品货号",
    "qty": "数量",
    "totalPrice": "总价",
    "unit": "计量单位",
    "unit1": "法定计量单位",
    "unit2": "第二计量单位",
    "currency": "币制",
    "tradeCountry": "贸易国",
    "gnum": "商品序号",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_LINE = re.compile(r"^(?:InventoryList|OrderList)\[(\d+)\]")
# The keys the real "新增申报成功" text names, in its order.
CONTEXT = (("ebcCode", "电商企业编码"), ("orderNo", "订单编号"))


def reason(problem: Problem) -> str:
    """One refusal in customs' words: field names as labels, a line as 表体第n项."""
    text = _WORD.sub(lambda m: FIELD_LABELS.get(m.group(0), m.group(0)), problem.zh)
    line = _LINE.match(problem.field)
    return f"表体第{line.group(1)}项{text}" if line else text


def refusal_text(problems: list[Problem], context: dict[str, str]) -> str:
    """Every refusal, once each, then the declaration it concerns in brackets."""
    body = "；".join(dict.fromkeys(reason(p) for p in problems))
    named = "，".join(f"{zh}：{context[key]}" for key, zh in CONTEXT if context.get(key))
    return f"{body}[{named}]" if named else body
