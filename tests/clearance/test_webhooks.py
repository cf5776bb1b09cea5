"""Webhooks end to end against a real receiver on loopback, verified with `standardwebhooks`."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from standardwebhooks import Webhook, WebhookVerificationError

from app import create_app
from clearance.webhooks import service as webhooks
from clearance.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from clearance.webhooks.security import new_secret, signature_header
from kit import outbox
from kit.auth import Role
from kit.db import session_scope
from kit.outbox import Event, utcnow
from kit.queue import get_queue, run_burst
from kit.settings import get_settings
from tests.conftest import Stack, make_stack
from tests.factories import api_key, auth
from tests.identities import (
    MERCHANT_A,
    MERCHANT_B,
    PASSWORD,
    merchant_key,
    merchant_user,
    place_order,
)


@dataclass
class Receiver:
    """A merchant's webhook receiver: answers `status`, verifies every request independently."""

    status: int = 500
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        verified = []
        for secret in self.secrets.get(path, "").split():
            try:
                Webhook(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        self.received.append({"path": path, "headers": headers, "body": body, "ok": verified})
        return self.status


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = state.handle(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"boom" if status >= 500 else b"ok")

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(params=[("sqlite", False), ("postgresql", True)], ids=["sqlite", "pg-redis"])
def hooks_stack(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    backend, redis = request.param
    yield from make_stack(request, monkeypatch, tmp_path, backend, redis=redis)


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"CLEARWAY_{key.upper()}", value)
    get_settings.cache_clear()


def _endpoint(client: TestClient, url: str, merchant: str, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ["*"], "merchant": merchant, "allow_private": True, **extra}
    response = client.post("/api/v1/webhooks/endpoints", json=body, headers=auth(api_key()))
    assert response.status_code == 201, response.text
    return response.json()


def _work() -> None:
    """Run every queued job, then the retry sweeper's, as workers would."""
    run_burst()
    webhooks.sweep_due()
    run_burst()


def _answering_endpoint(receiver: tuple[Receiver, str]) -> Receiver:
    """Merchant A subscribed to everything at a receiver that answers 200 and checks signatures."""
    state, base = receiver
    state.status = 200
    created = _endpoint(TestClient(create_app()), f"{base}/a", MERCHANT_A)
    state.secrets = {"/a": created["secret"]}
    return state


def _attempts(endpoint_id: int) -> list[tuple[int, int | None]]:
    with session_scope() as session:
        query = (
            select(WebhookDelivery.replay_no, WebhookAttempt.status_code)
            .join(WebhookAttempt, col(WebhookAttempt.delivery_id) == col(WebhookDelivery.id))
            .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
            .order_by(col(WebhookAttempt.id))
        )
        return [(replay, status) for replay, status in session.exec(query)]


def test_loopback_is_refused_unless_an_admin_allows_it(stack: Stack) -> None:
    client = TestClient(create_app())
    body: dict[str, Any] = {"url": "http://127.0.0.1:9/hook", "event_types": ["clearance.*"]}
    mine = auth(merchant_key())
    refused = client.post("/api/v1/webhooks/endpoints", json=body, headers=mine)
    assert refused.status_code == 422 and refused.json()["field"] == "url"
    assert refused.json()["errors"][0]["code"] == "private_address"
    for url in ("http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/x", "ftp://a/b"):
        response = client.post(
            "/api/v1/webhooks/endpoints", json={**body, "url": url}, headers=mine
        )
        assert response.status_code == 422, url
    sneaky = client.post(
        "/api/v1/webhooks/endpoints", json={**body, "allow_private": True}, headers=mine
    )
    assert sneaky.status_code == 403
    created = _endpoint(client, body["url"], MERCHANT_A)
    assert created["allow_private"] is True and created["secret"].startswith("whsec_")
    with session_scope() as session:
        endpoint = session.get(WebhookEndpoint, created["id"])
        assert endpoint is not None and endpoint.merchant_id is not None


def test_signed_retries_after_500_then_replay_after_recovery(
    hooks_stack: Stack, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, base = receiver
    _settings(monkeypatch, webhook_backoff_s="0", webhook_max_attempts="3")
    client = TestClient(create_app())
    mine = _endpoint(client, f"{base}/a", MERCHANT_A)
    theirs = _endpoint(client, f"{base}/b", MERCHANT_B)
    state.secrets = {"/a": mine["secret"], "/b": theirs["secret"]}
    order = place_order(1, merchant=MERCHANT_A)

    _work()
    _work()
    assert _attempts(mine["id"]) == [(0, 500), (0, 500), (0, 500)]
    assert {r["path"] for r in state.received} == {"/a"}, "another merchant got the event"
    assert all(r["ok"] for r in state.received), "a signature did not verify"
    ids = {r["headers"]["webhook-id"] for r in state.received}
    stamps = [r["headers"]["webhook-timestamp"] for r in state.received]
    assert len(ids) == 1 and len(stamps) == 3
    body = Webhook(mine["secret"]).verify(state.received[0]["body"], state.received[0]["headers"])
    assert body["type"] == "order.received" and body["data"]["order_no"] == order["order_no"]

    log = client.get(
        f"/api/v1/webhooks/endpoints/{mine['id']}/deliveries", headers=auth(merchant_key())
    ).json()
    delivery = log["items"][0]
    assert delivery["state"] == "failed" and len(delivery["attempt_log"]) == 3
    assert delivery["attempt_log"][0]["response_excerpt"] == "boom"
    failing_since = _endpoint_row(mine["id"]).failing_since
    assert failing_since is not None

    state.status = 200
    replayed = client.post(
        f"/api/v1/webhooks/endpoints/{mine['id']}/replay",
        json={"event_id": body["data"]["event_id"]},
        headers=auth(merchant_key()),
    )
    assert replayed.status_code == 202 and replayed.json() == {"deliveries": 1}
    _work()
    assert _attempts(mine["id"])[-1] == (1, 200)
    assert state.received[-1]["headers"]["webhook-id"] in ids and state.received[-1]["ok"]
    assert _endpoint_row(mine["id"]).failing_since == failing_since, "replay touched health"


def _endpoint_row(endpoint_id: int) -> WebhookEndpoint:
    with session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        return endpoint


def test_rotation_signs_with_both_secrets_and_range_replay(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    state.status = 200
    client = TestClient(create_app())
    created = _endpoint(client, f"{base}/a", MERCHANT_A)
    key = auth(merchant_key())
    rotated = client.post(
        f"/api/v1/webhooks/endpoints/{created['id']}/rotate-secret", headers=key
    ).json()
    state.secrets = {"/a": f"{created['secret']} {rotated['secret']}"}
    place_order(1, merchant=MERCHANT_A)
    place_order(2, merchant=MERCHANT_A)
    _work()
    assert len(state.received) == 2
    assert all(len(r["ok"]) == 2 for r in state.received), "not signed with old and new"
    assert all(len(r["headers"]["webhook-signature"].split()) == 2 for r in state.received)
    since = (utcnow() - timedelta(minutes=5)).isoformat()
    replay = client.post(
        f"/api/v1/webhooks/endpoints/{created['id']}/replay", json={"since": since}, headers=key
    )
    assert replay.json() == {"deliveries": 2}
    _work()
    assert len(state.received) == 4 and _attempts(created["id"])[-1] == (1, 200)


def test_an_endpoint_failing_too_long_is_disabled_and_the_merchant_told(
    stack: Stack, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, base = receiver
    _settings(monkeypatch, webhook_backoff_s="0", webhook_disable_after_s="0")
    client = TestClient(create_app())
    created = _endpoint(client, f"{base}/a", MERCHANT_A)
    state.secrets = {"/a": created["secret"]}
    place_order(1, merchant=MERCHANT_A)
    place_order(2, merchant=MERCHANT_A)
    _work()
    shown = client.get(
        f"/api/v1/webhooks/endpoints/{created['id']}", headers=auth(merchant_key())
    ).json()
    assert shown["enabled"] is False and "failed" in shown["disabled_reason"]
    with session_scope() as session:
        told = session.exec(
            select(Event).where(col(Event.topic) == "webhook.endpoint_disabled")
        ).all()
        states = set(session.exec(select(WebhookDelivery.state)).all())
    assert len(told) == 1 and told[0].payload["endpoint_id"] == created["id"]
    assert states <= {"skipped", "pending"} | {"failed"} and "skipped" in states
    assert len(state.received) == 1, "a disabled endpoint was called again"
    banner = client.get("/track", headers=auth(merchant_key())).text
    assert f"{base}/a is disabled" in banner
    again = client.patch(
        f"/api/v1/webhooks/endpoints/{created['id']}",
        json={"enabled": True},
        headers=auth(merchant_key()),
    )
    assert again.json()["enabled"] is True and again.json()["disabled_reason"] is None


def test_merchants_cannot_see_or_replay_each_others_endpoints(stack: Stack) -> None:
    client = TestClient(create_app())
    created = _endpoint(client, "http://127.0.0.1:9/a", MERCHANT_A)
    other = auth(merchant_key(MERCHANT_B))
    for method, path in (
        ("GET", ""),
        ("GET", "/secret"),
        ("GET", "/deliveries"),
        ("POST", "/rotate-secret"),
    ):
        response = client.request(
            method, f"/api/v1/webhooks/endpoints/{created['id']}{path}", headers=other
        )
        assert response.status_code == 404 and created["secret"] not in response.text
    listed = client.get("/api/v1/webhooks/endpoints", headers=other).json()
    assert listed["items"] == []
    staff = auth(api_key(Role.staff, warehouse_codes=("HZ",)))
    assert client.get("/api/v1/webhooks/endpoints", headers=staff).status_code == 403


def test_delivery_log_is_purged_after_retention(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    state.status = 200
    created = _endpoint(TestClient(create_app()), f"{base}/a", MERCHANT_A)
    place_order(1, merchant=MERCHANT_A)
    place_order(2, merchant=MERCHANT_A)
    _work()
    with session_scope() as session:
        old, recent = session.exec(select(WebhookAttempt).order_by(col(WebhookAttempt.id))).all()
        old.attempted_at = utcnow() - timedelta(days=90)
        delivery = session.get(WebhookDelivery, old.delivery_id)
        assert delivery is not None
        delivery.finished_at = old.attempted_at
        session.add_all([old, delivery])
    with session_scope() as session:
        webhooks.purge(session, utcnow() - timedelta(days=30))
    with session_scope() as session:
        kept = session.exec(select(WebhookAttempt.id)).all()
        deliveries = session.exec(
            select(WebhookDelivery.id).where(col(WebhookDelivery.endpoint_id) == created["id"])
        ).all()
    assert kept == [recent.id] and deliveries == [recent.delivery_id]


@given(body=st.binary(max_size=300), msg=st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True))
@settings(max_examples=50)
def test_signatures_match_the_reference_implementation(body: bytes, msg: str) -> None:
    secret, now = new_secret(), int(time.time())
    text = body.decode("latin-1").encode()
    headers = {
        "webhook-id": msg,
        "webhook-timestamp": str(now),
        "webhook-signature": signature_header([new_secret(), secret], msg, now, text),
    }
    Webhook(secret).verify(text, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(text, headers, json_parse=False)


def test_a_lost_fan_out_job_is_recovered_by_the_sweeper(
    hooks_stack: Stack, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(monkeypatch, relay_grace_s="0")
    state = _answering_endpoint(receiver)
    place_order(1, merchant=MERCHANT_A)
    run_burst(("events",))
    lost = get_queue("webhooks")
    assert lost.count == 1
    for job_id in lost.job_ids:  # Redis lost the job; the database still has the event
        lost.remove(job_id)
    assert webhooks.sweep_due() == 1
    run_burst()
    assert len(state.received) == 1 and state.received[0]["ok"]
    assert webhooks.sweep_due() == 0


def test_fan_out_reads_past_a_window_of_events_no_webhook_carries(
    hooks_stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    state = _answering_endpoint(receiver)
    webhooks.fan_out_new()  # the cursor starts at the newest event
    internal = {"topic": "scan.logged", "subject_type": "scan", "actor": "test"}
    with session_scope() as session:
        outbox.record_many(
            session, [{**internal, "subject_id": i} for i in range(webhooks.BATCH + 5)]
        )
    place_order(1, merchant=MERCHANT_A)
    run_burst()
    assert len(state.received) == 1 and state.received[0]["ok"]
    assert webhooks.fan_out_new() == 0  # the cursor now stands past every event


def test_webhooks_page_replays_through_a_csrf_protected_form(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    state.status = 200
    client = TestClient(create_app())
    created = _endpoint(client, f"{base}/a", MERCHANT_A)
    place_order(1, merchant=MERCHANT_A)
    _work()
    merchant_user("kiwi")
    login = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token
    fields = {"csrf_token": token.group(1), "username": "kiwi", "password": PASSWORD}
    client.post("/login", data=fields, follow_redirects=False)
    page = client.get("/webhooks").text
    assert f"{base}/a" in page and "succeeded" in page
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    event = re.search(r'name="event_id" value="(\d+)"', page)
    assert session_token and event
    action = f"/webhooks/{created['id']}/replay"
    forged = client.post(action, data={"csrf_token": "forged", "event_id": event.group(1)})
    assert forged.status_code == 403
    form = {"csrf_token": session_token.group(1), "event_id": event.group(1)}
    done = client.post(action, data=form, follow_redirects=False)
    assert done.status_code == 303
    _work()
    assert len(state.received) == 2 and _attempts(created["id"])[-1] == (1, 200)
    other = auth(merchant_key(MERCHANT_B))
    assert client.post(action, data=form, headers=other).status_code == 404


def test_a_replay_is_bounded_per_call(
    stack: Stack, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base = receiver
    _settings(monkeypatch, webhook_replay_max="1")
    client = TestClient(create_app())
    created = _endpoint(client, f"{base}/a", MERCHANT_A)
    place_order(1, merchant=MERCHANT_A)
    place_order(2, merchant=MERCHANT_A)
    since = (utcnow() - timedelta(minutes=5)).isoformat()
    path = f"/api/v1/webhooks/endpoints/{created['id']}/replay"
    refused = client.post(path, json={"since": since}, headers=auth(merchant_key()))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "replay_too_large"
