"""Pages in Chinese first and in English: the setting, the header switch, Accept-Language."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app import create_app
from kit.auth import Role
from kit.i18n import LANGUAGE_COOKIE, choose_language, po_path
from tests.conftest import Stack
from tests.factories import api_key, auth

ROOT = Path(__file__).resolve().parents[2]


def _catalogue() -> dict[str, str]:
    with po_path("zh").open("rb") as po:
        messages = [m for m in read_po(po, locale="zh") if m.id and "fuzzy" not in m.flags]
    return {str(m.id): str(m.string) for m in messages}


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map)
    return {str(message) for _file, _line, message, _comments, _context in found}


def test_every_page_string_has_a_chinese_translation() -> None:
    translated = {msgid for msgid, text in _catalogue().items() if text}
    missing = sorted(_extracted() - translated)
    assert missing == [], f"run `make messages` and translate in {po_path('zh')}: {missing}"


def test_the_setting_comes_before_the_browser_and_chinese_is_the_default() -> None:
    assert choose_language("en", "zh-CN,zh;q=0.9") == "en"
    assert choose_language(None, "en-GB,en;q=0.8,zh;q=0.5") == "en"
    assert choose_language(None, "fr-FR, zh-Hans;q=0.7, en;q=0.6") == "zh"
    assert choose_language("xx", "de, en;q=0") == "zh"
    assert choose_language(None, None) == "zh"


def _logged_in(key: str) -> TestClient:
    client = TestClient(create_app())
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    reply = client.post("/login", data={"csrf_token": token.group(1), "api_key": key})
    assert reply.status_code == 200
    return client


def _switch(client: TestClient, language: str, back_to: str) -> str:
    reply = client.post(
        "/language", data={"language": language, "next": back_to}, follow_redirects=False
    )
    assert reply.status_code == 303 and reply.headers["location"] == back_to
    return client.get(back_to).text


def test_scan_station_is_chinese_first_and_switches_from_the_header(embedded: Stack) -> None:
    staff = _logged_in(api_key(Role.staff, warehouse_codes=("HZ",)))
    page = staff.get("/floor/HZ/scan").text
    assert '<html lang="zh-CN">' in page and "请扫描包裹、装箱单或袋标。" in page
    assert 'action="/language"' in page and 'value="en"' in page
    english = _switch(staff, "en", "/floor/HZ/scan")
    assert (
        '<html lang="en">' in english and "Scan a parcel, a packing slip or a bag label." in english
    )
    assert "请扫描包裹、装箱单或袋标。" not in english
    # The verdict stays bilingual whatever the setting: both labels are always on the page.
    for verdict in ("匹配成功", "MATCHED", "海关未放行 禁止出库", "NOT RELEASED — STOP"):
        assert verdict in page and verdict in english
    assert "请扫描包裹、装箱单或袋标。" in _switch(staff, "zh", "/floor/HZ/scan")


def test_scan_station_follows_accept_language_until_the_user_chooses(embedded: Stack) -> None:
    staff = _logged_in(api_key(Role.staff, warehouse_codes=("HZ",)))
    english = {"Accept-Language": "en-US,en;q=0.9"}
    assert "Last scans at this station" in staff.get("/floor/HZ/scan", headers=english).text
    staff.cookies.set(LANGUAGE_COOKIE, "zh")
    assert "本工位最近扫描" in staff.get("/floor/HZ/scan", headers=english).text


def test_broker_workspace_in_both_languages(embedded: Stack) -> None:
    broker = api_key(Role.broker, warehouse_codes=("HZ",))
    client = TestClient(create_app())
    chinese = client.get("/broker", headers=auth(broker)).text
    assert '<html lang="zh-CN">' in chinese and "申报清单" in chinese and "筛选" in chinese
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.get("/broker", headers=auth(broker)).text
    assert '<html lang="en">' in english and "Declaration list" in english
    assert ">Filter</button>" in english and "申报清单" not in english


def test_broker_switches_from_the_header(embedded: Stack) -> None:
    broker = _logged_in(api_key(Role.broker, warehouse_codes=("HZ",)))
    assert "Submit selected (declared)" in _switch(broker, "en", "/broker?state=rejected")
    assert "批量申报所选" in _switch(broker, "zh", "/broker?state=rejected")


def test_the_switch_only_goes_back_to_this_site(embedded: Stack) -> None:
    client = TestClient(create_app())
    reply = client.post(
        "/language", data={"language": "en", "next": "//evil.example/"}, follow_redirects=False
    )
    assert reply.headers["location"] == "/"
