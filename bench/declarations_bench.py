"""CEB621 build + XSD validation on one core, beside bare lxml on the same documents: serialising
the finished tree, building it element by element, and parsing + validating its bytes."""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from lxml import etree

from bench.harness import figure
from declarations import rules, samples
from declarations.build import build, build_checked
from declarations.codes import CEB_NS, XSI_NS
from declarations.model import Inventory
from declarations.preflight import preflight
from declarations.receipts import Receipt, build_ceb622, parse_receipts
from declarations.render import render
from declarations.validate import checking_parser

TARGET_PER_S = 5000  # issue 3: CEB621 built and validated per second per core
BATCH = 2000
NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 黄婷 周杰 吴昊 欧阳明 司马云".split()


def inventories(n: int = BATCH, seed: int = 11) -> list[Inventory]:
    """A wave of distinct 3-line inventories (about 4 KB each, as in perf-floors.md)."""
    rnd = random.Random(seed)
    wave = []
    for i in range(n):
        lines = tuple(
            replace(
                samples.inventory_line(g), qty=Decimal(rnd.randint(1, 4)), price=Decimal("99.00")
            )
            for g in (1, 2, 3)
        )
        lines = tuple(replace(ln, total_price=rules.round_money(ln.price * ln.qty)) for ln in lines)
        born = f"199{rnd.randrange(10)}{rnd.randrange(1, 13):02d}{rnd.randrange(1, 29):02d}"
        body = f"{rnd.randrange(11, 65)}0105{born}{rnd.randrange(1000):03d}"
        wave.append(
            samples.inventory(
                guid=f"{i:08X}-0000-4000-8000-{rnd.randrange(16**12):012X}",
                cop_no=f"CW{i:012d}",
                order_no=f"TM2026111{i:08d}",
                logistics_no=f"YT{rnd.randrange(10**12):012d}",
                buyer_name=rnd.choice(NAMES),
                buyer_id_number=body + rules.id_check_digit(body),
                lines=lines,
            )
        )
    return wave


def rates(work: Callable[[], int], repeat: int) -> list[float]:
    """Items per CPU-second of this process: the machine is shared, and one core is the unit."""
    work()
    found = []
    for _ in range(repeat):
        started = time.process_time()
        done = work()
        found.append(done / max(time.process_time() - started, 1e-9))
    return found


def _subelement_tree(data: bytes) -> etree._Element:
    """The same document rebuilt node by node with SubElement (the classic lxml builder)."""
    source = etree.fromstring(data)
    attributes: dict[str, str] = {str(k): str(v) for k, v in source.attrib.items()}
    root = etree.Element(source.tag, nsmap={"ceb": CEB_NS, "xsi": XSI_NS}, attrib=attributes)
    stack = [(source, root)]
    while stack:
        old, new = stack.pop()
        for child in old:
            copy = etree.SubElement(new, child.tag)
            copy.text = child.text
            stack.append((child, copy))
    return root


def _runs(repeat: int) -> dict[str, list[float]]:
    wave = inventories()
    transfer = samples.transfer()
    blobs = [render(inv, transfer) for inv in wave]
    trees = [build(inv, transfer) for inv in wave]
    parser = checking_parser("CEB621")
    return {
        "lxml_tostring": rates(lambda: sum(1 for t in trees if etree.tostring(t)), repeat),
        "lxml_subelement_build": rates(
            lambda: sum(1 for b in blobs if etree.tostring(_subelement_tree(b))), repeat
        ),
        "lxml_parse_validate": rates(
            lambda: sum(1 for b in blobs if etree.fromstring(b, parser) is not None), repeat
        ),
        "render": rates(lambda: sum(1 for inv in wave if render(inv, transfer)), repeat),
        "build_validate": rates(lambda: sum(build_checked(i, transfer).ok for i in wave), repeat),
    }


def _preflight_runs(repeat: int) -> list[float]:
    transfer, order = samples.transfer(), samples.order()
    payment, waybill, inv = samples.payment(), samples.waybill(), samples.inventory()

    def check() -> int:
        return sum(
            1
            for _ in range(500)
            if not preflight(inv, transfer, order=order, payment=payment, waybill=waybill)
        )

    return rates(check, repeat)


def _receipt_runs(repeat: int) -> list[float]:
    keys = {"customsCode": "2928", "copNo": "CW1", "preNo": "B20261111000000001"}
    files = [
        build_ceb622(
            [Receipt("CEB622", f"G{i}", 800, f"2026111110300{i % 10}123", "放行", keys)], guid="F"
        )
        for i in range(BATCH)
    ]
    return rates(lambda: sum(len(parse_receipts(f)) for f in files), repeat)


def run(repeat: int = 5) -> dict[str, Any]:
    """Medians (messages per CPU-second on one core), spread and ratio to the floors; `x_floor` >
    1 means slower than the floor."""
    runs = _runs(repeat)
    floor = figure(runs["lxml_parse_validate"], "msg/s")
    tostring = figure(runs["lxml_tostring"], "msg/s")
    built = figure(runs["build_validate"], "msg/s", floor, target=TARGET_PER_S)
    built["meets_target"] = built["median_per_s"] >= TARGET_PER_S
    built["x_tostring"] = tostring["median_per_s"] / built["median_per_s"]
    return {
        "ceb621_build_validate": built,
        "ceb621_render_only": figure(runs["render"], "msg/s", tostring),
        "floor_lxml_parse_validate": floor,
        "floor_lxml_tostring": tostring,
        "lxml_subelement_build_tostring": figure(
            runs["lxml_subelement_build"],
            "msg/s",
            tostring,
            note="a reference, not a Clearway stage: the classic SubElement builder",
        ),
        "preflight_3_documents": figure(_preflight_runs(repeat), "checks/s"),
        "ceb622_parse": figure(_receipt_runs(repeat), "receipts/s"),
    }


def _check_sample() -> None:
    """Refuse to measure if the documents are not what customs would accept."""
    checked = build_checked(inventories(1)[0], samples.transfer())
    assert checked.ok and etree.QName(checked.root).namespace == CEB_NS, checked.findings


if __name__ == "__main__":
    _check_sample()
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(json.dumps(result, indent=2, ensure_ascii=False))
