"""Builders of valid test input (orders, scans) on top of the seeded demo reference data."""

from __future__ import annotations

import random
from typing import Any

from kit.auth import Role, create_key
from kit.db import session_scope
from warehouses.demo import demo_order


def order_payload(index: int = 1, warehouse: str = "HZ", **changes: Any) -> dict[str, Any]:
    """A JSON order that passes every intake rule, with `changes` laid on top."""
    data = demo_order(random.Random(index), index, warehouse, run="T").model_dump(mode="json")
    data.update(changes)
    return data


def api_key(role: Role = Role.admin, **scope: Any) -> str:
    with session_scope() as session:
        _, raw = create_key(session, label=f"test-{role.value}", role=role, **scope)
    return raw


def auth(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}
