"""Fixtures for the labels tests: a typical label and a hostile one."""

from __future__ import annotations

import pytest

from labels import LabelData
from tests.labels.helpers import LONG_ADDRESS, make_label


@pytest.fixture
def label() -> LabelData:
    return make_label()


@pytest.fixture
def hostile_label() -> LabelData:
    assert len(LONG_ADDRESS) >= 200
    return make_label(
        consignee_name="李^娜~😀",
        consignee_address="^XZ~JA 北京市" + LONG_ADDRESS + " 🏠📦 _5E",
        sender_name="Merchant ^FS~DG",
        qr_payload="https://clearway.example/t/YT0000000001?q=^~测试",
        waybill_no="YT0000000001",
        invt_no=None,
        sort_code=None,
        customs_status="待放行 NOT RELEASED",
    )
