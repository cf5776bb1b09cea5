"""Login hardening: failed logins throttled per user name and per address (429 + Retry-After),
password checks bounded at once, and the session cookie's Secure flag as a setting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from app import create_app
from kit import auth as kit_auth
from kit import queue
from kit.settings import get_settings
from tests.conftest import Stack, make_stack
from tests.identities import PASSWORD, merchant_user
from tests.kit.test_auth import _login

WRONG = "not the password at all"


@pytest.fixture(params=["embedded", "redis"])
def limited(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Stack]:
    """Three failures per user, five per address: in the in-process stand-in and in Redis."""
    monkeypatch.setenv("CLEARWAY_LOGIN_FAILURES_PER_USER", "3")
    monkeypatch.setenv("CLEARWAY_LOGIN_FAILURES_PER_ADDRESS", "5")
    yield from make_stack(request, monkeypatch, tmp_path, "sqlite", redis=request.param == "redis")


def _fail(client: TestClient, times: int, username: str = "kiwi") -> None:
    for _ in range(times):
        assert _login(client, username=username, password=WRONG).status_code == 401


def test_a_user_name_is_locked_out_after_its_failures(
    limited: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    merchant_user("kiwi")
    client = TestClient(create_app())
    with caplog.at_level(logging.WARNING, logger="clearway.login"):
        _fail(client, 3)
    locked = _login(client, username="kiwi", password=PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= get_settings().login_window_s
    body = locked.json()
    assert (body["code"], body["field"]) == ("login_locked", "username") and body["message_zh"]
    [line] = [r.getMessage() for r in caplog.records if "locked out" in r.getMessage()]
    assert "user='kiwi'" in line and "address=testclient" in line and "until=" in line
    if limited.redis_url:  # shared by every process through Redis
        assert list(queue.get_redis().scan_iter(f"{limited.prefix}:login-failures:*"))


def test_an_address_is_locked_out_across_user_names(limited: Stack) -> None:
    merchant_user("kiwi")
    client = TestClient(create_app())
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _fail(client, 1, username=name)
    locked = _login(client, username="kiwi", password=PASSWORD)
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
    assert "Retry-After" in locked.headers


def test_a_good_login_forgives_the_user_names_earlier_failures(limited: Stack) -> None:
    merchant_user("kiwi")
    client = TestClient(create_app())
    _fail(client, 2)
    assert _login(client, username="kiwi", password=PASSWORD).status_code == 303
    _fail(client, 2)
    assert _login(client, username="kiwi", password=PASSWORD).status_code == 303


def test_password_checks_run_at_most_the_setting_at_once(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, most, lock = [0], [0], threading.Lock()

    def verify(_stored: str, _password: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the others to pile up if nothing holds them back
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(kit_auth, "_hasher", SimpleNamespace(verify=verify))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: kit_auth._password_ok("h", "p"), range(16)))
    assert results == [False] * 16
    assert 1 <= most[0] <= get_settings().password_checks_at_once == 2


@pytest.mark.parametrize(("setting", "secure"), [(None, False), ("true", True)])
def test_the_session_cookie_is_secure_when_set(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch, setting: str | None, secure: bool
) -> None:
    if setting:
        monkeypatch.setenv("CLEARWAY_COOKIE_SECURE", setting)
        get_settings.cache_clear()
    merchant_user("kiwi")
    response = _login(TestClient(create_app()), username="kiwi", password=PASSWORD)
    assert response.status_code == 303
    assert ("secure" in response.headers["set-cookie"].lower()) is secure
