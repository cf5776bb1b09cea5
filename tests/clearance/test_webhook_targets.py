"""Webhook targets: every resolved address judged (IPv4 inside IPv6 as the IPv4 it reaches), the
delivery pinned to the address judged, ports 80/443 unless the admin's setting names more.
A fake resolver stands in for DNS; the only real connections go to a receiver on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import create_app
from clearance.webhooks.security import Pinned, pin
from kit.settings import get_settings
from tests.clearance.test_webhooks import Receiver, _endpoint, _work, receiver  # noqa: F401
from tests.conftest import Stack
from tests.factories import auth
from tests.identities import MERCHANT_A, merchant_key, place_order

HOST = "hooks.example.test"
PUBLIC = "93.184.216.34"


def fake_dns(monkeypatch: pytest.MonkeyPatch, answer: Callable[[int], list[str]]) -> list[int]:
    """HOST resolves to `answer(n)` on its n-th lookup (from 1); other names as usual."""
    real = socket.getaddrinfo
    calls: list[int] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != HOST:
            return real(host, port, *args, **kwargs)
        calls.append(1)
        return [_info(address, int(port or 0)) for address in answer(len(calls))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


def _subscribe(url: str) -> Any:
    body = {"url": url, "event_types": ["*"]}
    client = TestClient(create_app())
    return client.post("/api/v1/webhooks/endpoints", json=body, headers=auth(merchant_key()))


EMBEDDED_INTERNAL = {
    "ipv4-mapped loopback": "::ffff:127.0.0.1",
    "NAT64 loopback": "64:ff9b::7f00:1",
    "NAT64 private": "64:ff9b::a00:1",
    "6to4 loopback": "2002:7f00:1::",
    "6to4 private": "2002:c0a8:101::1",
    "IPv4-compatible loopback": "::127.0.0.1",
    "IPv4-compatible private": "::10.1.2.3",
}


@pytest.mark.parametrize("address", EMBEDDED_INTERNAL.values(), ids=EMBEDDED_INTERNAL.keys())
def test_an_internal_ipv4_inside_ipv6_is_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    fake_dns(monkeypatch, lambda _n: [address])
    answer = _subscribe(f"https://{HOST}/hook")
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "private_address"


def test_one_internal_address_among_public_ones_is_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, lambda _n: [PUBLIC, "10.0.0.7"])
    assert _subscribe(f"https://{HOST}/hook").json()["errors"][0]["code"] == "private_address"


def test_ports_other_than_80_and_443_need_the_admins_setting(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, lambda _n: [PUBLIC])
    refused = _subscribe(f"https://{HOST}:8443/hook")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "port_not_allowed"
    monkeypatch.setenv("CLEARWAY_WEBHOOK_PORTS", "[80, 443, 8443]")
    get_settings.cache_clear()
    assert _subscribe(f"https://{HOST}:8443/hook").status_code == 201


def test_the_pinned_target_keeps_the_name_for_host_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, lambda _n: ["2606:2800:220:1:248:1893:25c8:1946", PUBLIC])
    target = pin(f"https://{HOST.upper()}/in?x=1", False, [80, 443])
    assert target == Pinned("https://[2606:2800:220:1:248:1893:25c8:1946]:443/in?x=1", HOST, HOST)


def test_a_delivery_connects_to_the_address_that_was_checked(
    stack: Stack, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers loopback while checked (subscribing, then delivering),
    and another address after that; the delivery must go where the check looked."""
    state, base = request.getfixturevalue("receiver")
    state.status = 200
    port = int(base.rsplit(":", 1)[1])
    calls = fake_dns(monkeypatch, lambda n: ["127.0.0.1"] if n <= 2 else ["127.0.0.2"])
    created = _endpoint(TestClient(create_app()), f"http://{HOST}:{port}/a", MERCHANT_A)
    state.secrets = {"/a": created["secret"]}
    place_order(1, merchant=MERCHANT_A)
    _work()
    assert len(state.received) == 1 and state.received[0]["ok"]
    headers = {name.lower(): value for name, value in state.received[0]["headers"].items()}
    assert headers["host"] == f"{HOST}:{port}"
    assert len(calls) == 2  # once to subscribe, once for the delivery: never again
