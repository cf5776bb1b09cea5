"""Every error code raised anywhere has a Chinese message, and every API error carries it."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

from app import create_app
from kit.errors_zh import GENERIC, MESSAGES_ZH, message_zh
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["kit", "declarations", "labels", "warehouses", "clearance", "app.py", "cli.py"]
ERRORS = {"NotFound", "Conflict", "Forbidden", "Unauthorized", "TooManyRequests", "Unavailable"}
ERRORS |= {"DomainError", "ValidationFailed"}
# FieldIssue(field, code, …) and ValidationFailed.one(field, code, …)
CODE_SECOND = {"FieldIssue", "one"}
# Codes built at run time, which the walk below cannot read: f"duplicate_{name}" (intake rules),
# f"{service}_unavailable" (app.py), the bag problems (floor/bags.py _problem), /ready.
BUILT_CODES = {"duplicate_tracking_no", "duplicate_waybill_no", "database_unavailable"}
BUILT_CODES |= {"redis_unavailable", "already_bagged", "other_warehouse", "unknown_parcel"}
BUILT_CODES |= {"not_ready", "validation_failed"}


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _code_argument(call: ast.Call) -> ast.expr | None:
    keyword = next((k.value for k in call.keywords if k.arg == "code"), None)
    position = 1 if _callee(call) in CODE_SECOND else 0
    if keyword is None and len(call.args) > position:
        return call.args[position]
    return keyword


def _sources() -> list[Path]:
    paths = [ROOT / name for name in PACKAGES]
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]


def raised_codes() -> set[str]:
    codes = set()
    for source in _sources():
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and _callee(node) in ERRORS | CODE_SECOND:
                argument = _code_argument(node)
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    codes.add(argument.value)
    return codes


def test_the_walk_finds_the_codes_it_should() -> None:
    codes = raised_codes()
    assert {"order_not_found", "csrf_failed", "illegal_transition", "too_short"} <= codes
    assert len(codes) > 60


def test_every_raised_code_has_a_chinese_message() -> None:
    missing = sorted((raised_codes() | BUILT_CODES) - MESSAGES_ZH.keys())
    assert missing == [], f"add these codes to kit/errors_zh.py MESSAGES_ZH: {missing}"


def test_an_unlisted_code_still_answers_in_chinese() -> None:
    assert message_zh("brand_new_code") == GENERIC.format(code="brand_new_code")
    assert message_zh("order_not_found") == "找不到该订单"


def test_api_errors_carry_message_zh_per_issue(embedded: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    payload = order_payload(3)
    del payload["consignee"]
    body = client.post("/api/v1/orders", json=payload, headers=auth(key)).json()
    assert body["message_zh"] == "缺少必填字段"
    assert all(issue["message_zh"] for issue in body["errors"])
    missing = client.get("/api/v1/no-such-thing", headers=auth(key)).json()
    assert missing["code"] == "http_404" and missing["message_zh"] == "找不到该地址"


def test_domain_validation_issues_carry_message_zh(embedded: Stack) -> None:
    client, key = TestClient(create_app()), api_key()
    bad = order_payload(2, buyer={**order_payload(2)["buyer"], "id_number": "110105194912310021"})
    body = client.post("/api/v1/orders", json=bad, headers=auth(key)).json()
    assert body["message_zh"] == "身份证号码无效"
    assert body["errors"][0]["message_zh"] == "身份证号码无效"
