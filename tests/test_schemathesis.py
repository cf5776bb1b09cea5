"""The OpenAPI contract under fire: generated requests with valid keys against the in-process
app (embedded SQLite) must never cause a server error or a response that breaks the schema.
Every operation is fuzzed, webhook and printer writes included: the app under test accepts
only loopback targets (`outbound_loopback_only`), so no request leaves the machine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from kit.auth import Role
from tests.conftest import make_stack
from tests.factories import api_key, auth
from tests.identities import MERCHANT_A, merchant_key, place_order

# Bounded so `make test` stays quick; raise it for a deeper run, e.g. CLEARWAY_API_EXAMPLES=200.
EXAMPLES = int(os.environ.get("CLEARWAY_API_EXAMPLES", "10"))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def keys(request, monkeypatch, tmp_path) -> Iterator[dict[str, str]]:
    # Webhook and printer writes are fuzzed too: whatever URL is made up, only loopback.
    monkeypatch.setenv("CLEARWAY_OUTBOUND_LOOPBACK_ONLY", "true")
    for _stack in make_stack(request, monkeypatch, tmp_path, "sqlite", redis=False):
        place_order(1, "HZ", merchant=MERCHANT_A)
        yield {"admin": api_key(Role.admin), "merchant": merchant_key(MERCHANT_A)}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.parametrize("role", ["admin", "merchant"])
def test_api_contract(case: schemathesis.Case, role: str, keys: dict[str, str]) -> None:
    headers = {**auth(keys[role]), "X-API-Key": keys[role]}
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_every_operation_is_versioned_secured_and_documents_the_error_shape() -> None:
    document = create_app().openapi()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        assert path.startswith("/api/v1/"), path
        assert operation.get("security"), (method, path, "declares no credentials")
        for status in ("401", "403", "404", "422"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (path, status)
    error = document["components"]["schemas"]["ErrorOut"]
    assert {"code", "message"} <= set(error["required"]) and "field" in error["properties"]
