"""Throughput benchmark for label rendering: PDF and ZPL against a text-and-frame floor."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from labels import LABEL_100x150, LabelData, render_pdf, render_zpl
from labels.pdf import draw_pdf
from labels.zpl import draw_zpl

_STREETS = "华夏路 天河路 中山大道 解放南路 人民路 建设路 长安街 南京东路 淮海中路 港荣路".split()
_NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 黄婷 周杰 吴昊 欧阳明 司马云".split()
_CITIES = (
    "广东省广州市天河区 浙江省杭州市西湖区 北京市朝阳区 上海市浦东新区 四川省成都市武侯区".split()
)

BASE = LabelData(
    waybill_no="SF1400000000000",
    qr_payload="",
    consignee_name="",
    consignee_phone="",
    consignee_address="",
    sender_name="Clearway 广州南沙保税仓",
    sender_address="广东省广州市南沙区保税港区港荣路88号3号仓",
    return_address="广东省广州市南沙区保税港区港荣路88号3号仓 退货组 020-12345678",
    order_no="",
    weight_kg=Decimal("1.250"),
    warehouse_code="GZ",
    print_date=date(2024, 6, 1),
    customs_status="已放行 RELEASED",
    sort_code="755W-GZ01",
)


def make_batch(n: int, seed: int = 7) -> list[LabelData]:
    """A realistic wave: one warehouse and day, every parcel with its own consignee and numbers."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        waybill = f"SF{rnd.randrange(10**12, 10**13)}"
        address = (
            f"{rnd.choice(_CITIES)}{rnd.choice(_STREETS)}{rnd.randrange(1, 999)}号"
            f"{rnd.randrange(1, 30)}栋{rnd.randrange(1, 30)}单元{rnd.randrange(101, 3300)}室"
        )
        out.append(
            replace(
                BASE,
                waybill_no=waybill,
                qr_payload=f"https://clearway.example/t/{waybill}?w=GZ",
                consignee_name=rnd.choice(_NAMES),
                consignee_phone=f"1{rnd.randrange(3, 9)}{rnd.randrange(10**9):09d}",
                consignee_address=address,
                order_no=f"ORD2024{rnd.randrange(10**10):010d}",
                invt_no=f"5141{rnd.randrange(10**14):014d}",
                weight_kg=Decimal(rnd.randrange(50, 9000)) / 1000,
            )
        )
    return out


def _rates(
    render: Callable[[list[LabelData]], bytes], batch: list[LabelData], repeat: int
) -> list[float]:
    render(batch[:5])
    rates = []
    for _ in range(repeat):
        # CPU time of this process: labels per core-second, robust to a busy machine.
        started = time.process_time()
        render(batch)
        rates.append(len(batch) / (time.process_time() - started))
    return rates


def _one_document_each(
    draw: Callable[[list[LabelData]], bytes],
) -> Callable[[list[LabelData]], bytes]:
    return lambda batch: b"".join(draw([label]) for label in batch)


def _pdf_floor(batch: list[LabelData]) -> bytes:
    return draw_pdf(batch, LABEL_100x150, symbols=False)


# name → (its floor, labels per run, renderer). Each floor is a label with only text and frame
# in the same shape: the same document size, the same CJK strategy.
SCENARIOS: dict[str, tuple[str, int, Callable[[list[LabelData]], bytes]]] = {
    "pdf_floor": ("pdf_floor", 300, _pdf_floor),
    "pdf": ("pdf_floor", 300, lambda b: render_pdf(b)),
    "pdf_one_floor": ("pdf_one_floor", 30, _one_document_each(_pdf_floor)),
    "pdf_one_per_call": ("pdf_one_floor", 30, _one_document_each(render_pdf)),
    "zpl_floor": ("zpl_floor", 20_000, lambda b: draw_zpl(b, cjk="resident", symbols=False)),
    "zpl_resident": ("zpl_floor", 20_000, lambda b: render_zpl(b, cjk="resident")),
    "zpl_bitmap_floor": ("zpl_bitmap_floor", 300, lambda b: draw_zpl(b, symbols=False)),
    "zpl_bitmap": ("zpl_bitmap_floor", 300, lambda b: render_zpl(b, cjk="bitmap")),
}


def run(repeat: int = 5) -> dict[str, dict[str, float]]:
    """Labels/s per scenario: median, relative spread (max-min)/median, time ratio to its floor."""
    batch = make_batch(max(n for _, n, _ in SCENARIOS.values()))
    results: dict[str, dict[str, float]] = {}
    for name, (floor, n, render) in SCENARIOS.items():
        rates = _rates(render, batch[:n], repeat)
        median = statistics.median(rates)
        results[name] = {
            "labels": float(n),
            "median_per_s": median,
            "spread": (max(rates) - min(rates)) / median,
            "x_floor": results[floor]["median_per_s"] / median if floor in results else 1.0,
        }
    return results


def _accelerated() -> bool:
    """Whether reportlab found its C accelerator (the rl-accel package), worth ~2x on PDFs."""
    from reportlab.lib import rl_accel

    return type(rl_accel.fp_str).__name__ == "builtin_function_or_method"


def main() -> None:
    results = run()
    print(f"reportlab C accelerator (rl-accel): {'yes' if _accelerated() else 'no'}")
    print(f"{'scenario':<18}{'labels':>8}{'labels/s':>12}{'spread':>9}{'x floor':>9}")
    for name, r in results.items():
        print(
            f"{name:<18}{int(r['labels']):>8}{r['median_per_s']:>12,.0f}"
            f"{r['spread']:>8.1%}{r['x_floor']:>9.2f}"
        )


if __name__ == "__main__":
    main()
