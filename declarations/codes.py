"""Customs code tables as data (cbec-facts §3): receipt statuses, countries, units, transport."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
# DxpMsg ReceiverId of the CBEC import system, and of the export one (cbec-facts §2.11, [V]).
DXP_RECEIVER_IMPORT = "DXPEDCCEB0000002"
DXP_RECEIVER_EXPORT = "DXPEDCCEB0000003"
CURRENCY_CNY = "142"
COUNTRY_CHINA = "142"


class StatusClass(StrEnum):
    in_progress = "in_progress"
    accepted = "accepted"
    review = "review"
    hold = "hold"
    rejected = "rejected"
    released = "released"
    closed = "closed"


@dataclass(frozen=True)
class ReturnStatus:
    """One returnStatus value: its meaning in Chinese and English, and what kind of news it is."""

    code: int
    zh: str
    en: str
    klass: StatusClass

    @property
    def is_failure(self) -> bool:
        return self.klass is StatusClass.rejected


_STATUSES = [
    ReturnStatus(1, "电子口岸已暂存", "Staged at E-Port", StatusClass.in_progress),
    ReturnStatus(2, "电子口岸申报中", "Being declared at E-Port", StatusClass.in_progress),
    ReturnStatus(3, "发送海关成功", "Sent to customs", StatusClass.in_progress),
    ReturnStatus(4, "发送海关失败", "Failed to send to customs", StatusClass.rejected),
    ReturnStatus(100, "海关退单", "Rejected by customs", StatusClass.rejected),
    ReturnStatus(120, "海关入库", "Accepted by customs", StatusClass.accepted),
    ReturnStatus(300, "人工审核", "Manual review", StatusClass.review),
    ReturnStatus(399, "海关审结", "Customs review concluded", StatusClass.accepted),
    ReturnStatus(500, "查验", "Inspection", StatusClass.review),
    ReturnStatus(501, "扣留移送通关", "Detained, moved to clearance", StatusClass.hold),
    ReturnStatus(502, "扣留移送缉私", "Detained, moved to anti-smuggling", StatusClass.hold),
    ReturnStatus(503, "扣留移送法规", "Detained, moved to legal department", StatusClass.hold),
    ReturnStatus(599, "其它扣留", "Other detention", StatusClass.hold),
    ReturnStatus(700, "退运", "Returned / shipped back", StatusClass.hold),
    ReturnStatus(800, "放行", "Released", StatusClass.released),
    ReturnStatus(899, "结关", "Closed", StatusClass.closed),
]
RETURN_STATUSES: dict[int, ReturnStatus] = {status.code: status for status in _STATUSES}


def describe_status(code: int) -> ReturnStatus:
    """Meaning of a returnStatus; negative codes are processing-exception receipts."""
    if code in RETURN_STATUSES:
        return RETURN_STATUSES[code]
    if code < 0:
        return ReturnStatus(code, "处理异常", "Processing exception", StatusClass.rejected)
    return ReturnStatus(code, "未知状态", f"Unknown status {code}", StatusClass.in_progress)


# Customs 3-digit country codes used inside CEB messages (cbec-facts §3.5, marked [V]).
COUNTRIES: dict[str, tuple[str, str]] = {
    "502": ("美国", "United States"),
    "609": ("新西兰", "New Zealand"),
    "601": ("澳大利亚", "Australia"),
    "331": ("瑞士", "Switzerland"),
    "305": ("法国", "France"),
    "303": ("英国", "United Kingdom"),
    "312": ("西班牙", "Spain"),
    "132": ("新加坡", "Singapore"),
    "136": ("泰国", "Thailand"),
    "122": ("马来西亚", "Malaysia"),
    "137": ("土耳其", "Turkey"),
    "133": ("韩国", "South Korea"),
    "116": ("日本", "Japan"),
    "304": ("德国", "Germany"),
    "142": ("中国", "China"),
    "110": ("中国香港", "Hong Kong"),
    "306": ("爱尔兰", "Ireland"),
    "309": ("荷兰", "Netherlands"),
    "307": ("意大利", "Italy"),
    "501": ("加拿大", "Canada"),
}

# JGS-20 unit codes (cbec-facts §3.6); kept apart from currency: 142 here is 瓶, not CNY.
UNITS: dict[str, tuple[str, str]] = {
    "001": ("台", "set (machine)"),
    "006": ("套", "set"),
    "007": ("个", "piece"),
    "008": ("只", "piece (animal/small)"),
    "011": ("件", "item"),
    "012": ("支", "stick"),
    "015": ("条", "strip"),
    "017": ("块", "block"),
    "020": ("片", "sheet"),
    "022": ("份", "portion"),
    "025": ("双", "pair"),
    "031": ("盘", "plate"),
    "035": ("千克", "kilogram"),
    "036": ("克", "gram"),
    "095": ("升", "litre"),
    "096": ("毫升", "millilitre"),
    "120": ("箱", "carton"),
    "122": ("罐", "can / jar"),
    "123": ("桶", "barrel"),
    "125": ("包", "pack"),
    "136": ("袋", "bag"),
    "139": ("粒", "grain / capsule"),
    "140": ("盒", "box"),
    "142": ("瓶", "bottle"),
}

CURRENCIES: dict[str, tuple[str, str]] = {"142": ("人民币", "Chinese yuan (CNY)")}

# trafMode (cbec-facts §3.7, [V TRAF]).
TRAF_MODES: dict[str, tuple[str, str]] = {
    "0": ("非保税区", "Non-bonded area"),
    "1": ("监管仓库", "Supervised warehouse"),
    "2": ("水路运输", "Waterway"),
    "3": ("铁路运输", "Rail"),
    "4": ("公路运输", "Road"),
    "5": ("航空运输", "Air"),
    "7": ("保税区", "Bonded zone"),
    "8": ("保税仓库", "Bonded warehouse"),
    "9": ("其它运输", "Other"),
    "W": ("物流中心", "Bonded logistics centre"),
    "X": ("物流园区", "Bonded logistics park"),
    "Y": ("保税港区/综合保税区", "Bonded port zone / comprehensive bonded zone"),
    "Z": ("出口加工区", "Export processing zone"),
    "H": ("边境特殊海关作业区", "Border special customs zone"),
}

# appType / appStatus / trade modes (cbec-facts §3.1, §3.3, [V]).
APP_TYPES: dict[str, tuple[str, str]] = {
    "1": ("新增", "new"),
    "2": ("变更", "change"),
    "3": ("删除", "delete"),
}
APP_STATUSES: dict[str, tuple[str, str]] = {"1": ("暂存", "staged"), "2": ("申报", "declare")}
TRADE_MODES: dict[str, tuple[str, str]] = {
    "1210": ("保税跨境贸易电子商务", "bonded e-commerce"),
    "9610": ("跨境贸易电子商务", "direct purchase"),
}

# trafMode values that are real conveyances, as a 9610 cross-border leg needs (§3.7).
CONVEYANCE_TRAF_MODES = frozenset({"2", "3", "4", "5", "9"})

# wrapType: the spec comment lists the kinds in this order; the numbering 1..7 is only implied
# (cbec-facts §3.8, [U]) so it is a default a deployment may replace.
WRAP_TYPES: dict[str, tuple[str, str]] = {
    "1": ("木箱", "wooden case"),
    "2": ("纸箱", "carton"),
    "3": ("桶装", "drum"),
    "4": ("散装", "bulk"),
    "5": ("托盘", "pallet"),
    "6": ("包", "bag"),
    "7": ("罐车", "tank truck"),
}

# CEB816 TaxHeadRd status (§2.10, [V ZJ-OTHER]).
TAX_BILL_STATUSES: dict[str, tuple[str, str]] = {
    "1": ("已生成", "generated"),
    "2": ("已汇总", "summarised"),
    "3": ("作废", "void"),
}


def country_name(code: str) -> str | None:
    """English name of a customs 3-digit country code, or None if the table lacks it."""
    entry = COUNTRIES.get(code)
    return entry[1] if entry else None


def unit_name(code: str) -> str | None:
    """Chinese name of a JGS-20 unit code (not a currency: 142 is 瓶 here)."""
    entry = UNITS.get(code)
    return entry[0] if entry else None
