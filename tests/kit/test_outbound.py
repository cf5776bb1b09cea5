"""`outbound_loopback_only`: webhook and printer targets off this machine are refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app import create_app
from kit.auth import Role
from kit.outbound import is_loopback_host
from kit.settings import get_settings
from tests.conftest import Stack
from tests.factories import api_key, auth


@pytest.fixture
def client(embedded: Stack, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("CLEARWAY_OUTBOUND_LOOPBACK_ONLY", "true")
    get_settings.cache_clear()
    return TestClient(create_app())


def test_loopback_hosts_are_literals_or_localhost() -> None:
    assert all(map(is_loopback_host, ["127.0.0.1", "127.9.9.9", "[::1]", "::1", "LOCALHOST"]))
    assert not any(map(is_loopback_host, ["10.0.0.1", "1.1.1.1", "localhost.example", "::"]))


def _hook(client: TestClient, url: str) -> tuple[int, str | None]:
    body = {"url": url, "merchant": "nz-pavilion", "allow_private": True}
    answer = client.post("/api/v1/webhooks/endpoints", json=body, headers=auth(api_key(Role.admin)))
    return answer.status_code, answer.json().get("errors", [{}])[0].get("code")


def test_a_webhook_off_the_machine_is_refused(client: TestClient) -> None:
    assert _hook(client, "http://10.1.2.3/hook") == (422, "loopback_only")
    assert _hook(client, "https://hooks.example.com/x") == (422, "loopback_only")
    assert _hook(client, "http://127.0.0.1:9/hook")[0] == 201


def _printer(client: TestClient, url: str) -> tuple[int, str | None]:
    body = {"name": "p1", "kind": "zpl", "url": url}
    admin = auth(api_key(Role.admin))
    answer = client.post("/api/v1/warehouses/HZ/printers", json=body, headers=admin)
    return answer.status_code, answer.json().get("errors", [{}])[0].get("code")


def test_a_printer_off_the_machine_or_outside_the_data_dir_is_refused(client: TestClient) -> None:
    assert _printer(client, "tcp://10.0.0.21:9100") == (422, "loopback_only")
    assert _printer(client, "cups://office") == (422, "loopback_only")
    assert _printer(client, "spool:///tmp/elsewhere") == (422, "loopback_only")
    inside = get_settings().data_dir / "spool"
    assert _printer(client, f"spool://{inside.as_posix()}/../../escape") == (422, "loopback_only")
    assert _printer(client, "tcp://127.0.0.1:9100")[0] == 201


def test_without_the_setting_a_lan_printer_is_taken(embedded: Stack) -> None:
    answer = TestClient(create_app()).post(
        "/api/v1/warehouses/HZ/printers",
        json={"name": "lan", "kind": "zpl", "url": "tcp://10.0.0.21:9100"},
        headers=auth(api_key(Role.admin)),
    )
    assert answer.status_code == 201, answer.text
