"""Identity: hashed keys and passwords, the signed session cookie, CSRF, request ids, errors."""

from __future__ import annotations

import logging
import re
import stat

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select
from typer.testing import CliRunner

from app import create_app
from cli import app as command
from kit.api import RequestIdLogFilter
from kit.auth import (
    ApiKey,
    Role,
    User,
    authenticate,
    create_user,
    login_user,
    revoke_key,
    set_password,
)
from kit.db import session_scope
from kit.errors import Unauthorized, ValidationFailed
from tests.conftest import Stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, PASSWORD, merchant_key, merchant_user, place_order


@pytest.fixture
def client(stack: Stack) -> TestClient:
    return TestClient(create_app())


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _login(client: TestClient, **fields: str) -> httpx.Response:
    token = _csrf(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, **fields}, follow_redirects=False)


def test_keys_are_stored_hashed_revocable_and_track_last_use(stack: Stack) -> None:
    raw = api_key(Role.admin)
    with session_scope() as session:
        key = session.exec(select(ApiKey)).one()
        assert raw not in (key.digest, key.lookup) and key.last_used_at is None
        assert authenticate(session, raw).role == Role.admin
        assert key.last_used_at is not None
        revoke_key(session, key.id or 0)
    with session_scope() as session, pytest.raises(Unauthorized):
        authenticate(session, raw)


def test_passwords_use_argon2id_and_failures_look_the_same(stack: Stack) -> None:
    merchant_user("kiwi")
    with session_scope() as session:
        user = session.exec(select(User).where(col(User.username) == "kiwi")).one()
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert login_user(session, "kiwi", PASSWORD).merchant_id == user.merchant_id
        with pytest.raises(Unauthorized) as wrong:
            login_user(session, "kiwi", "not the password")
        with pytest.raises(Unauthorized) as unknown:
            login_user(session, "nobody", PASSWORD)
        assert wrong.value.code == unknown.value.code == "bad_credentials"
        with pytest.raises(ValidationFailed):
            create_user(session, username="short", password="123", role=Role.admin)


def test_login_with_password_sets_a_session_that_pages_and_api_accept(client: TestClient) -> None:
    merchant_user("kiwi")
    order = place_order(1, merchant=MERCHANT_A)
    assert client.get("/track", follow_redirects=False).headers["location"].startswith("/login")
    response = _login(client, username="kiwi", password=PASSWORD, next="/track")
    assert response.status_code == 303 and response.headers["location"] == "/track"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/track")
    assert page.status_code == 200 and order["order_no"] in page.text
    assert client.get(f"/api/v1/shipments/{order['order_no']}").status_code == 200


def test_login_with_a_key_and_bad_credentials(client: TestClient) -> None:
    assert _login(client, username="kiwi", password="wrong").status_code == 401
    response = _login(client, api_key=merchant_key())
    assert response.status_code == 303 and response.headers["location"] == "/track"


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    merchant_user("kiwi")
    forged = client.post(
        "/login", data={"csrf_token": "forged", "username": "kiwi", "password": PASSWORD}
    )
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"


def test_cookie_writes_need_the_csrf_token(client: TestClient) -> None:
    merchant_user("kiwi")
    _login(client, username="kiwi", password=PASSWORD)
    body = {"url": "https://example.com/hook", "event_types": ["*"]}
    refused = client.post("/api/v1/webhooks/endpoints", json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    token = _csrf(client.get("/track").text)
    assert client.post("/logout", data={"csrf_token": "x"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    assert client.get("/track", follow_redirects=False).status_code == 303


def test_forged_or_revoked_sessions_are_refused(client: TestClient) -> None:
    client.cookies.set("clearway_session", "eyJrIjoxfQ.forged.sig")
    assert client.get("/api/v1/shipments").status_code == 401
    client.cookies.clear()
    raw = merchant_key()
    _login(client, api_key=raw)
    assert client.get("/api/v1/shipments").status_code == 200
    with session_scope() as session:
        key = session.exec(select(ApiKey)).one()
        revoke_key(session, key.id or 0)
    assert client.get("/api/v1/shipments").status_code == 401


def test_next_never_leaves_the_site(client: TestClient) -> None:
    merchant_user("kiwi")
    response = _login(client, username="kiwi", password=PASSWORD, next="//evil.example/x")
    assert response.headers["location"] == "/track"


def test_request_ids_and_the_one_error_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/shipments/NOPE", headers={"X-Request-ID": "abc-123"})
    assert missing.headers["x-request-id"] == "abc-123"
    assert missing.json() == {
        "code": "missing_api_key",
        "message": missing.json()["message"],
        "message_zh": "缺少 API 密钥",
        "field": None,
    }
    unknown = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "bad id!"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "http_404"
    assert re.fullmatch(r"[0-9a-f]{32}", unknown.headers["x-request-id"])
    invalid = client.get("/api/v1/shipments?limit=0", headers=auth(api_key()))
    assert invalid.status_code == 422 and invalid.json()["field"] == "limit"


def test_request_log_lines_carry_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.INFO, logger="clearway.http"):
        client.get("/health", headers={"X-Request-ID": "req-42"})
    lines = [r for r in caplog.records if r.name == "clearway.http"]
    assert (
        lines
        and getattr(lines[-1], "request_id", None) == "req-42"
        and "/health 200" in lines[-1].getMessage()
    )


def test_keys_and_users_commands(stack: Stack) -> None:
    runner = CliRunner()
    created = runner.invoke(command, ["keys", "create", "erp", "merchant", "--merchant-id", "1"])
    assert created.exit_code == 0, created.output
    raw = re.search(r"cw_\w+", created.output)
    assert raw
    listed = runner.invoke(command, ["keys", "list"])
    assert "erp" in listed.output and raw.group(0) not in listed.output
    key_id = re.search(r"key (\d+)", created.output)
    assert key_id
    assert runner.invoke(command, ["keys", "revoke", key_id.group(1)]).exit_code == 0
    with session_scope() as session, pytest.raises(Unauthorized):
        authenticate(session, raw.group(0))
    prompted = f"{PASSWORD}\n{PASSWORD}\n"
    made = runner.invoke(command, ["users", "create", "ops", "admin"], input=prompted)
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output
    with session_scope() as session:
        assert login_user(session, "ops", PASSWORD).role == Role.admin
    assert runner.invoke(command, ["users", "disable", "ops"]).exit_code == 0
    with session_scope() as session, pytest.raises(Unauthorized):
        login_user(session, "ops", PASSWORD)


def test_users_create_never_takes_the_password_from_argv(stack: Stack) -> None:
    runner = CliRunner()
    argv = runner.invoke(command, ["users", "create", "ops", "admin", "--password", PASSWORD])
    assert argv.exit_code != 0
    piped = ["users", "create", "ops", "admin", "--password-stdin"]
    made = runner.invoke(command, piped, input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    with session_scope() as session:
        assert login_user(session, "ops", PASSWORD).role == Role.admin


def test_demo_keys_file_is_readable_by_its_owner_only(embedded: Stack) -> None:
    path = embedded.data_dir / "demo-keys.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("old\n")
    path.chmod(0o644)
    result = CliRunner().invoke(command, ["seed-demo", "--orders", "0"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "cw_" in path.read_text()


def _session_cookie(client: TestClient) -> str:
    value = client.cookies.get("clearway_session")
    assert value
    return value


def _with_cookie(value: str) -> TestClient:
    other = TestClient(create_app())
    other.cookies.set("clearway_session", value)
    return other


def test_logout_ends_the_session_even_for_a_copied_cookie(client: TestClient) -> None:
    merchant_user("kiwi")
    _login(client, username="kiwi", password=PASSWORD)
    copied = _session_cookie(client)
    assert _with_cookie(copied).get("/api/v1/shipments").status_code == 200
    token = _csrf(client.get("/track").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    stale = _with_cookie(copied).get("/api/v1/shipments")
    assert stale.status_code == 401 and stale.json()["code"] == "session_expired"


def test_a_new_password_or_a_revoked_key_ends_every_session(client: TestClient) -> None:
    merchant_user("kiwi")
    _login(client, username="kiwi", password=PASSWORD)
    copied = _session_cookie(client)
    with session_scope() as session:
        set_password(session, "kiwi", "a brand new passphrase")
    assert _with_cookie(copied).get("/api/v1/shipments").status_code == 401
    assert _login(client, username="kiwi", password="a brand new passphrase").status_code == 303
    assert client.get("/api/v1/shipments").status_code == 200


def test_the_login_token_fits_only_the_browser_it_was_given_to(client: TestClient) -> None:
    merchant_user("kiwi")
    lifted = _csrf(client.get("/login").text)
    victim = TestClient(create_app())
    victim.get("/login")  # the victim's own pre-session cookie
    fields = {"csrf_token": lifted, "username": "kiwi", "password": PASSWORD}
    forced = victim.post("/login", data=fields, follow_redirects=False)
    assert forced.status_code == 403 and forced.json()["code"] == "csrf_failed"
    bare = TestClient(create_app()).post("/login", data=fields, follow_redirects=False)
    assert bare.status_code == 403
    assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
