"""Customs code tables as data (cbec-facts §3): receipt statuses, countries, units, transport."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
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
    code: int
    zh: str
    en: str
    klass: StatusClass


_STATUSES = [
    ReturnStatus(1, "电子口岸已暂存", "Staged at E-Port", StatusClass.in_progress),
    ReturnStatus(2, "电子口岸申报中", "Being declared at E-Port", StatusClass.accepted),
    ReturnStatus(3, "发送海关成功", "Sent to customs", StatusClass.accepted),
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
