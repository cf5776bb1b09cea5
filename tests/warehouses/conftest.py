"""Floor test helpers: an app client with keys, orders posted through the API, parcel states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlmodel import col

from app import create_app
from kit.auth import Role
from kit.db import session_scope
from kit.outbox import Event
from tests.conftest import Stack
from tests.factories import api_key, auth, order_payload
from warehouses.models import Parcel


@dataclass
class Floor:
    """A client plus an admin key and a staff key scoped to HZ."""

    client: TestClient
    admin: dict[str, str]
    staff: dict[str, str]

    def order(self, index: int, warehouse: str = "HZ", **changes: Any) -> dict[str, Any]:
        payload = order_payload(index, warehouse, **changes)
        response = self.client.post("/api/v1/orders", json=payload, headers=self.admin)
        assert response.status_code == 201, response.text
        return payload

    def scan(self, code: str, warehouse: str = "HZ", **extra: Any) -> dict[str, Any]:
        body = {"warehouse": warehouse, "station": "in-1", "code": code, **extra}
        response = self.client.post("/api/v1/scans", json=body, headers=self.staff)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def floor(stack: Stack) -> Floor:
    staff = api_key(Role.staff, warehouse_codes=("HZ",))
    return Floor(TestClient(create_app()), auth(api_key()), auth(staff))


def set_customs_state(tracking_no: str, state: str) -> None:
    """Stand in for clearance, which mirrors a case's state onto its parcel."""
    with session_scope() as session:
        session.execute(
            update(Parcel).where(col(Parcel.tracking_no) == tracking_no).values(customs_state=state)
        )


def parcel_state(tracking_no: str) -> tuple[str, str]:
    with session_scope() as session:
        parcel = session.execute(
            select(Parcel).where(col(Parcel.tracking_no) == tracking_no)
        ).scalar_one()
        return parcel.floor_state, parcel.customs_state


def events(topic: str) -> list[Event]:
    with session_scope() as session:
        return list(
            session.scalars(select(Event).where(col(Event.topic) == topic).order_by(col(Event.id)))
        )


def count(model: type) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0
