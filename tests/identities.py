"""Test helpers for identity and tenancy: merchants' keys, users, and orders of a given merchant."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from kit.auth import SYSTEM, Role, create_key, create_user
from kit.db import session_scope
from tests.factories import order_payload
from warehouses.intake.service import create_order
from warehouses.models import Merchant
from warehouses.schemas import OrderIn

MERCHANT_A = "nz-pavilion"
MERCHANT_B = "au-pavilion"
PASSWORD = "correct horse battery staple"


def merchant_id(code: str) -> int:
    with session_scope() as session:
        merchant = session.exec(select(Merchant).where(col(Merchant.code) == code)).one()
        assert merchant.id is not None
        return merchant.id


def merchant_key(code: str = MERCHANT_A) -> str:
    with session_scope() as session:
        _, raw = create_key(
            session, label=f"test-{code}", role=Role.merchant, merchant_id=merchant_id(code)
        )
    return raw


def merchant_user(username: str, code: str = MERCHANT_A) -> str:
    with session_scope() as session:
        create_user(
            session,
            username=username,
            password=PASSWORD,
            role=Role.merchant,
            merchant_id=merchant_id(code),
        )
    return PASSWORD


def place_order(index: int, warehouse: str = "HZ", merchant: str = MERCHANT_A) -> dict[str, Any]:
    """An accepted order of `merchant`, created through the intake service."""
    payload = order_payload(index, warehouse, merchant=merchant)
    with session_scope() as session:
        create_order(session, OrderIn.model_validate(payload), SYSTEM)
    return payload
