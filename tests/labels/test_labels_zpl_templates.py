"""The ZPL hot path (slot templates, barcode plans by digit pattern, the clean-text check) must
print exactly what the general fitting prints, for any text."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import replace

import pytest

from labels import LABEL_76x130, LABEL_100x150, LabelSize, code128
from labels.fonts import _DROP_CATEGORIES, byte_widths, clean_text, label_font
from labels.layout import Fitter, layout_for
from labels.zpl import DEFAULT_RESIDENT_FONT, _Writer, code128_fd, draw_zpl
from tests.labels.helpers import LONG_ADDRESS, make_label

POOL = (
    list("广东省州市天河区华夏路号栋单元室（）。，、；：？！”’ 订清单重量件数")
    + list("ABCXYZabcxyz0123456789-./:#_^~>") * 2
    + [" ", "  ", "\t", "\u3000", "\xa0", "😀", "\u200b", "\ue000", "é"]
)


def _texts(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    texts = ["", " ", "_^~", LONG_ADDRESS, LONG_ADDRESS[:40], "W" * 60, "订单号 " + "9" * 30]
    for _ in range(count):
        length = rnd.choice((1, 3, 8, 15, 25, 40, 70))
        texts.append("".join(rnd.choice(POOL) for _ in range(length)))
    return texts


def _writer(size: LabelSize, dpi: int) -> tuple[_Writer, Fitter]:
    font = label_font()
    fitter = Fitter(layout_for(size, font), font)
    writer = _Writer(font, dpi, "resident", DEFAULT_RESIDENT_FONT)
    writer.compile(fitter)
    return writer, fitter


@pytest.mark.parametrize(("size", "dpi"), [(LABEL_100x150, 203), (LABEL_76x130, 300)])
def test_every_slot_template_prints_what_the_general_fitting_prints(
    size: LabelSize, dpi: int
) -> None:
    writer, fitter = _writer(size, dpi)
    taken = 0
    for index in range(len(fitter.layout.slots)):
        for text in _texts(index, 150):
            expected = writer.general(fitter, index, text)
            assert writer.slot(fitter, index, text) == expected, (index, text)
            taken += 1
    assert taken > 2000


def test_templates_are_taken_for_ordinary_text_and_refused_for_overflowing_text() -> None:
    font = label_font()
    fitter = Fitter(layout_for(LABEL_100x150, font), font)
    writer = _Writer(font, 203, "resident", DEFAULT_RESIDENT_FONT)
    writer.general = lambda fitter, index, raw: b"GENERAL"  # type: ignore[method-assign]
    writer.compile(fitter)
    fields = [slot.field for slot in fitter.layout.slots]
    line, paragraph = (writer._fast[fields.index(f)] for f in ("order", "address"))
    assert line is not None and paragraph is not None
    assert line("订单号 ORD20240601000123").startswith(b"^FT")
    assert line("订单号 " + "W" * 80) == b"GENERAL"  # must shrink
    assert line("订单号  ORD") == b"GENERAL"  # must be cleaned first
    assert _font_sizes(paragraph("杭州市华夏路10号").decode()) == {round(13 * 203 / 72)}
    assert paragraph(LONG_ADDRESS) == b"GENERAL"  # must shrink


def _font_sizes(zpl: str) -> set[int]:
    return {int(size) for size in re.findall(r"\^A@N,(\d+),", zpl)}


def test_barcode_plans_cached_by_digit_pattern_match_the_encoder() -> None:
    fast, fitter = _writer(LABEL_100x150, 203)
    box = fitter.layout.barcode
    rnd = random.Random(5)
    for _ in range(500):
        prefix = "".join(rnd.choice("SFJDYT^~>-") for _ in range(rnd.randrange(0, 4)))
        data = prefix + "".join(rnd.choice("0123456789") for _ in range(rnd.randrange(1, 16)))
        expected = f"^FD{code128_fd(code128.segments(data))}^FS\n".encode()
        assert fast.barcode(box, data).endswith(expected), data


def test_a_batch_prints_each_label_as_it_prints_alone() -> None:
    rnd = random.Random(11)
    batch = [
        replace(
            make_label(),
            waybill_no=f"SF{rnd.randrange(10**12, 10**13)}",
            consignee_name=rnd.choice(["张伟", "欧阳明", "Li_Na^"]),
            consignee_address=rnd.choice([LONG_ADDRESS[: rnd.randrange(5, 200)], "杭州市 A~B"]),
            order_no=f"ORD{rnd.randrange(10**12)}",
            # Waves change mid-batch: another sender, parcel of a multi-parcel order, status.
            sender_name=rnd.choice(["Clearway 广州南沙保税仓", "Clearway 杭州下沙保税仓"]),
            parcel_index=rnd.choice([1, 2]),
            customs_status=rnd.choice(["已放行 RELEASED", "待放行 ^HOLD~"]),
        )
        for _ in range(60)
    ]
    together = draw_zpl(batch, cjk="resident")
    assert together == b"".join(draw_zpl([label], cjk="resident") for label in batch)
    assert draw_zpl([], cjk="resident") == b""


def _clean_reference(text: str) -> str:
    font = label_font()
    kept = [
        ch if font.covers(ch) else "?"
        for ch in " ".join(text.split())
        if font.covers(ch) or unicodedata.category(ch) not in _DROP_CATEGORIES
    ]
    return " ".join("".join(kept).split())


def test_the_quick_clean_check_agrees_with_cleaning_character_by_character() -> None:
    font = label_font()
    rnd = random.Random(3)
    extra = [chr(rnd.randrange(0x110000)) for _ in range(300)]
    pool = POOL + extra + ["\n", "\r", "\x1f", "\x85", "\u2028", "\U0001f3e0"]
    for _ in range(20_000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randrange(0, 9)))
        assert clean_text(text, font) == _clean_reference(text), repr(text)


def test_the_byte_table_measures_clean_text_as_the_font_does() -> None:
    font = label_font()
    table = byte_widths(font)
    rnd = random.Random(8)
    pool = [*POOL, "?", "ā", "…", "—", "Ω", "한"]
    measured = 0
    for _ in range(5_000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randrange(1, 30)))
        if table.irregular.search(text) is None:
            codes = text.encode("latin-1", "replace")
            assert sum(map(table.widths.__getitem__, codes)) == font.width_pt(text, 1000.0)
            measured += 1
        else:
            odd = (not font.covers(ch) or ch == "?" or (ch.isspace() and ch != " ") for ch in text)
            assert any(odd) or any(ord(ch) > 0xFF and font.widths[ch] != 1000.0 for ch in text)
    assert measured > 500
