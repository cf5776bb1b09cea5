"""HTTP guards: security headers and CSP nonces, the body limit, forwarded headers from trusted
proxies only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from app import create_app
from kit.auth import Role
from kit.settings import get_settings
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload


def _client(monkeypatch: pytest.MonkeyPatch, **settings: str) -> TestClient:
    for name, value in settings.items():
        monkeypatch.setenv(f"CLEARWAY_{name}", value)
    get_settings.cache_clear()
    return TestClient(create_app())


def _assert_guarded(headers: httpx.Headers) -> str:
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "same-origin"
    return str(csp)


def test_every_response_carries_the_security_headers(embedded: Stack) -> None:
    client = TestClient(create_app())
    admin = api_key(Role.admin)
    for response in (
        client.get("/health"),
        client.get("/login"),
        client.get("/no-such-page"),
        client.get("/api/v1/shipments"),
        client.get("/api/v1/shipments", headers=auth(admin)),
        client.get("/docs"),
    ):
        _assert_guarded(response.headers)


def test_inline_scripts_run_only_with_the_responses_nonce(embedded: Stack) -> None:
    client = TestClient(create_app())
    page = client.get("/broker", headers=auth(api_key(Role.admin)))
    assert page.status_code == 200
    csp = _assert_guarded(page.headers)
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in attrs for attrs in scripts)
    again = client.get("/broker", headers=auth(api_key(Role.admin)))
    assert nonce.group(1) not in again.headers["content-security-policy"]


def test_a_body_over_the_limit_is_refused_before_parsing(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(monkeypatch, MAX_BODY_BYTES="2048")
    headers = auth(api_key(Role.admin))
    big = {**order_payload(1), "padding": "x" * 5000}
    response = client.post("/api/v1/orders", json=big, headers=headers)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "body_too_large" and "2048" in body["message"]
    assert body["message_zh"]

    def chunks() -> Iterator[bytes]:
        yield b'{"order_no": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    chunked = client.post(
        "/api/v1/orders",
        content=chunks(),
        headers={**headers, "content-type": "application/json"},
    )
    assert chunked.status_code == 413 and chunked.json()["code"] == "body_too_large"
    small = client.post("/api/v1/orders", json=order_payload(2), headers=headers)
    assert small.status_code == 201, small.text


def _key_login(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/login", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    # The pre-session cookie may be Secure; the browser behind the proxy speaks https and
    # sends it back, the test client (plain http to the app) has to be handed it.
    browser = page.cookies.get("clearway_login") or client.cookies.get("clearway_login")
    sent = {**headers, "cookie": f"clearway_login={browser}"}
    data = {"csrf_token": token.group(1), "api_key": api_key(Role.admin)}
    response = client.post("/login", data=data, headers=sent, follow_redirects=False)
    assert response.status_code == 303, response.text
    [cookie] = [c for c in response.headers.get_list("set-cookie") if "clearway_session=" in c]
    return cookie.lower()


def test_session_cookie_is_secure_behind_a_trusted_tls_proxy(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"}
    untrusted = _client(monkeypatch)
    assert "; secure" not in _key_login(untrusted, forwarded)
    trusted = _client(monkeypatch, TRUSTED_PROXIES="testclient")
    assert "; secure" in _key_login(trusted, forwarded)
