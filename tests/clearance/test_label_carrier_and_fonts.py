"""Labels: the preview warns when a printer's font list lacks the resident font its ZPL names
(the preview draws bitmaps, so it cannot show that); the carrier's name and 三段码 come from the
warehouse's carrier settings when it has them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app import create_app
from clearance.printing.labeling import label_data
from clearance.printing.service import font_warning
from kit.db import session_scope
from kit.errors import ValidationFailed
from kit.settings import get_settings
from labels.layout import wave_texts
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, place_order
from warehouses.carriers import carrier_of
from warehouses.models import Order, Warehouse

PRINTERS = "/api/v1/warehouses/HZ/printers"
CARRIER = {"name": "演示快递", "sort_codes": {"杭州 西湖区": "571-W01 003", "北京": "010-C 100"}}


@pytest.mark.parametrize(
    ("resident", "fonts", "warns"),
    [
        ("E:SIMSUN.TTF", "Z:ARIAL.TTF,E:OTHER.TTF", True),
        ("E:SIMSUN.TTF", "", True),  # the printer reports no fonts at all
        ("E:SIMSUN.TTF", "z:arial.ttf, e:simsun.ttf", False),
        ("E:SIMSUN.TTF", None, False),  # the font list is not known: nothing to say
        (None, "Z:ARIAL.TTF", False),  # bitmaps: the printer needs no font
    ],
)
def test_a_missing_resident_font_is_warned_about(
    resident: str | None, fonts: str | None, warns: bool
) -> None:
    warning = font_warning(resident, fonts)
    assert (warning is not None) == warns
    if warning:
        assert "E:SIMSUN.TTF" in warning["zh"] and "preview" in warning["en"]


def _spool(name: str) -> str:
    """A spool folder inside the data directory, where printer spools must be."""
    return f"spool://{(get_settings().data_dir / 'spool-test' / name).as_posix()}"


def test_the_printers_page_warns_until_the_font_list_has_the_font(stack: Stack) -> None:
    client = TestClient(create_app())
    body = {"name": "zebra-1", "kind": "zpl", "url": _spool("never")}
    body |= {"resident_font": "E:SIMSUN.TTF", "fonts": "Z:ARIAL.TTF"}
    added = client.post(PRINTERS, json=body, headers=auth(api_key()))
    assert added.status_code == 201 and added.json()["fonts"] == "Z:ARIAL.TTF"
    page = client.get("/printers/HZ", headers=auth(api_key())).text
    assert "打印机字体列表中没有 E:SIMSUN.TTF" in page and "font-warning" in page
    fixed = {**body, "fonts": "Z:ARIAL.TTF,E:SIMSUN.TTF"}
    printer_id = added.json()["id"]
    assert client.put(f"{PRINTERS}/{printer_id}", json=fixed, headers=auth(api_key())).is_success
    assert "打印机字体列表中没有" not in client.get("/printers/HZ", headers=auth(api_key())).text


def test_carrier_settings_give_name_and_sort_code() -> None:
    carrier = carrier_of(CARRIER)
    assert carrier is not None and carrier.name == "演示快递"
    assert carrier.sort_code("杭州 西湖区") == "571-W01 003"
    assert carrier.sort_code("北京 朝阳区") == "010-C 100"  # by city
    assert carrier.sort_code("上海 浦东新区") is None
    assert carrier_of(None) is None
    with pytest.raises(ValidationFailed):
        carrier_of({"name": "x", "waybill_api": "http://…"})


def test_the_label_carries_the_carriers_name_and_sort_code(stack: Stack) -> None:
    place_order(1, "HZ", MERCHANT_A)
    with session_scope() as session:
        warehouse = session.exec(select(Warehouse).where(Warehouse.code == "HZ")).one()
        order = session.exec(select(Order)).one()
        plain = label_data(session, order)
        assert plain.sort_code  # the destination, 大头笔
        warehouse.carrier = {"name": "演示快递", "sort_codes": {plain.sort_code: "571-W01 003"}}
        session.add(warehouse)
        session.flush()
        label = label_data(session, order)
    assert plain.carrier_name is None and wave_texts(plain)["warehouse"] == "HZ"
    assert label.carrier_name == "演示快递"
    assert wave_texts(label)["warehouse"] == "演示快递 HZ"
    assert label.sort_code == "571-W01 003"
    assert label.waybill_no == plain.waybill_no  # the declared logisticsNo (cbec-facts §7)
