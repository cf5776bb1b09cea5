"""Shared layout: text fitting never overflows, masking, cleaning, font configuration."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from pathlib import Path

import pytest

from labels import LABEL_76x130, LABEL_100x150, LabelData, LabelSize, render_pdf
from labels.fit import (
    ELLIPSIS,
    PT_PER_MM,
    area_size,
    fit_block,
    most_units_at_top,
    threshold,
    top_size,
)
from labels.fonts import FONT_ENV, LabelFontError, clean_text, label_font
from labels.layout import (
    PARCEL_FIELDS,
    WAVE_FIELDS,
    Fitter,
    bind,
    block_fits,
    field_texts,
    fit_slot,
    layout_for,
    place_lines,
    wave_key,
)
from labels.model import mask_phone
from tests.labels.helpers import LONG_ADDRESS, make_label

SIZES = [LABEL_100x150, LABEL_76x130]


@pytest.mark.parametrize("size", SIZES)
def test_every_block_of_a_hostile_label_fits(hostile_label: LabelData, size: LabelSize) -> None:
    font = label_font()
    bound = bind(hostile_label, layout_for(size), font)
    address = next(b for b in bound.blocks if b.slot.field == "address")
    assert len(address.lines) > 3
    assert "".join(address.lines).replace(" ", "").startswith("^XZ~JA北京市新疆")
    assert all(block_fits(b, font) for b in bound.blocks)
    assert all(block_fits(b, font) for b in bound.layout.captions)


@pytest.mark.parametrize("size", SIZES)
def test_lines_stay_inside_their_box(hostile_label: LabelData, size: LabelSize) -> None:
    font = label_font()
    for block in bind(hostile_label, layout_for(size), font).blocks:
        box = block.slot.box
        for _line, x, base in place_lines(block, font):
            assert box.x - 1e-6 <= x
            assert base - block.size_pt * font.ascent >= box.y * PT_PER_MM - 1e-6
            assert base - block.size_pt * font.descent <= (box.y + box.h) * PT_PER_MM + 1e-6


def test_long_address_shrinks_but_stays_complete() -> None:
    font = label_font()
    size, lines, _ = fit_block(LONG_ADDRESS, 240.0, 60.0, (13.0, 4.0), font)
    assert 4.0 <= size < 13.0
    assert "".join(lines) == LONG_ADDRESS


def test_impossible_text_is_truncated_with_ellipsis() -> None:
    font = label_font()
    size, lines, widths = fit_block(LONG_ADDRESS * 5, 100.0, 20.0, (12.0, 6.0), font)
    assert size == 6.0
    assert lines[-1].endswith(ELLIPSIS)
    assert max(widths) <= 100.0


def test_closing_punctuation_never_starts_a_line() -> None:
    font = label_font()
    text = "广东省广州市天河区珠江新城华夏路十号富力中心写字楼（前台代收）。谢谢，再见！" * 3
    _, lines, _ = fit_block(text, 150.0, 200.0, (12.0, 12.0), font)
    assert len(lines) > 1
    assert not any(line[0] in "，。）！" for line in lines[1:])


def test_ascii_words_are_not_split_when_avoidable() -> None:
    font = label_font()
    _, lines, _ = fit_block("Room 2301 Tower B " * 6, 120.0, 200.0, (10.0, 10.0), font)
    assert all(not line.endswith(("Roo", "Towe", "230")) for line in lines)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("13812345678", "138****5678"), ("+86 138-1234-5678", "138****5678"), ("12345", "*2345")],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_field_texts_show_masked_phone_and_pending_inventory() -> None:
    texts = field_texts(make_label(invt_no=None, weight_kg=Decimal("2.500"), parcel_index=2))
    assert "138****5678" in texts["consignee"]
    assert "13812345678" not in " ".join(texts.values())
    assert texts["invt"] == "清单号 未生成"
    assert texts["weight"].startswith("重量 2.5kg")
    assert texts["parcel"] == "2/2"


def test_clean_text_drops_emoji_and_marks_missing_glyphs() -> None:
    font = label_font()
    assert clean_text("张 三\n\t😀🏠 ok", font) == "张 三 ok"
    assert clean_text("𠮷野家", font) == "?野家"


def test_missing_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FONT_ENV, "/nonexistent/font.ttc")
    with pytest.raises(LabelFontError, match="fonts-wqy-zenhei"):
        label_font()


@pytest.mark.parametrize("size", SIZES)
def test_fitter_hot_path_matches_the_generic_fit(
    label: LabelData, hostile_label: LabelData, size: LabelSize
) -> None:
    font = label_font()
    layout = layout_for(size)
    fitter = Fitter(layout, font)
    for data in (label, hostile_label):
        texts = field_texts(data)
        for i, slot in enumerate(layout.slots):
            fast = fitter.place(i, texts[slot.field])
            text = clean_text(texts[slot.field], font)
            slow = place_lines(fit_slot(slot, text, font), font) if text else []
            assert [ln for ln, _, _ in fast.lines] == [ln for ln, _, _ in slow]
            coords = [c for _, x, base in fast.lines for c in (x, base)]
            assert coords == pytest.approx([c for _, x, base in slow for c in (x, base)])


def test_font_path_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "my-cjk.ttc"
    link.symlink_to(label_font().path)
    monkeypatch.setenv(FONT_ENV, str(link))
    font = label_font()
    assert font.path == str(link)
    assert render_pdf([make_label()]).startswith(b"%PDF")


def test_wave_and_parcel_fields_cover_every_slot_once() -> None:
    fields = [slot.field for slot in layout_for(LABEL_100x150).slots]
    assert sorted(fields) == sorted(WAVE_FIELDS + PARCEL_FIELDS)


def test_labels_with_one_wave_key_have_the_same_wave_texts() -> None:
    rnd = random.Random(4)
    labels = [
        make_label(
            waybill_no=f"SF{rnd.randrange(10**9)}",
            consignee_name=rnd.choice(["张伟", "李娜"]),
            weight_kg=Decimal(rnd.randrange(1, 5000)) / 1000,
            invt_no=rnd.choice([None, "5141"]),
            sender_name=rnd.choice(["仓一", "仓二"]),
            parcel_index=rnd.choice([1, 2]),
        )
        for _ in range(200)
    ]
    by_key: dict[tuple[object, ...], dict[str, str]] = {}
    for label in labels:
        texts = field_texts(label)
        wave = {field: texts[field] for field in WAVE_FIELDS}
        assert by_key.setdefault(wave_key(label), wave) == wave
    assert len(by_key) == 4


@pytest.mark.parametrize(
    ("kg", "text"),
    [("1.250", "1.25kg"), ("1.000", "1kg"), ("120", "120kg"), ("1E+3", "1000kg"), ("0.0", "0kg")],
)
def test_weight_text_has_no_trailing_zeros_and_no_exponent(kg: str, text: str) -> None:
    assert field_texts(make_label(weight_kg=Decimal(kg)))["weight"].startswith(f"重量 {text} ")


def test_most_units_at_top_is_exactly_where_fit_block_starts_below_the_top_size() -> None:
    rnd = random.Random(6)
    for _ in range(200):
        top, w_pt, h_pt = rnd.choice([13.0, 9.88, 8.0]), rnd.uniform(50, 300), rnd.uniform(9, 90)
        most = most_units_at_top(top, 4.0, w_pt, h_pt)
        for units in (most, math.nextafter(most, math.inf), rnd.uniform(0, 3 * max(most, 1))):
            at_top = top_size(top, 4.0, area_size(units, w_pt, h_pt)) == top
            assert (units <= most) == at_top, (top, w_pt, h_pt, units)


def test_threshold_finds_the_last_float_where_a_falling_condition_holds() -> None:
    rnd = random.Random(9)
    for _ in range(100):
        w_pt, top = rnd.uniform(20, 300), rnd.uniform(4, 30)

        def holds(u: float, w: float = w_pt, t: float = top) -> bool:
            return not u or w * 1000.0 / u >= t

        most = threshold(holds)
        assert w_pt * 1000.0 / most >= top
        assert not w_pt * 1000.0 / math.nextafter(most, math.inf) >= top
    assert threshold(lambda u: False) == -1.0
