"""API keys and roles: keys are shown once, stored as a SHA-256 digest, and scoped by role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel, select

from kit.errors import Forbidden, NotFound, Unauthorized
from kit.outbox import utcnow

KEY_PREFIX = "cw_"


class Role(StrEnum):
    admin = "admin"
    broker = "broker"
    staff = "staff"
    merchant = "merchant"


class ApiKey(SQLModel, table=True):
    """A credential: who it is for, what it may touch, and whether it still works."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    lookup: str = Field(max_length=16, unique=True)
    digest: str = Field(max_length=64)
    label: str = Field(max_length=120)
    role: str = Field(max_length=16)
    merchant_id: int | None = None
    warehouse_codes: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as every service sees it."""

    key_id: int | None
    label: str
    role: Role
    merchant_id: int | None = None
    warehouse_codes: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.label}"

    def can_act_at(self, warehouse_code: str) -> bool:
        return self.role == Role.admin or warehouse_code in self.warehouse_codes

    def require_warehouse(self, warehouse_code: str) -> None:
        if self.role in (Role.staff, Role.broker) and not self.can_act_at(warehouse_code):
            raise Forbidden(
                "wrong_warehouse_for_key",
                f"this key may not act at warehouse {warehouse_code}",
                field="warehouse",
            )


SYSTEM = Principal(key_id=None, label="system", role=Role.admin)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    label: str,
    role: Role,
    merchant_id: int | None = None,
    warehouse_codes: tuple[str, ...] = (),
) -> tuple[ApiKey, str]:
    """Create a key; the raw secret is returned once and never stored."""
    lookup = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    key = ApiKey(
        lookup=lookup,
        digest=_digest(raw),
        label=label,
        role=role.value,
        merchant_id=merchant_id,
        warehouse_codes=",".join(warehouse_codes),
    )
    session.add(key)
    session.flush()
    return key, raw


def authenticate(session: Session, raw: str) -> Principal:
    """Resolve a raw key to its principal, or raise Unauthorized."""
    parts = raw.split("_")
    if len(parts) < 3 or not raw.startswith(KEY_PREFIX):
        raise Unauthorized("invalid_api_key", "the API key is malformed")
    key = session.exec(select(ApiKey).where(ApiKey.lookup == parts[1])).first()
    if key is None or key.revoked_at is not None:
        raise Unauthorized("invalid_api_key", "the API key is unknown or revoked")
    if not secrets.compare_digest(key.digest, _digest(raw)):
        raise Unauthorized("invalid_api_key", "the API key is unknown or revoked")
    key.last_used_at = utcnow()
    return principal_of(key)


def principal_of(key: ApiKey) -> Principal:
    codes = frozenset(code for code in key.warehouse_codes.split(",") if code)
    return Principal(key.id, key.label, Role(key.role), key.merchant_id, codes)


def revoke_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("api_key_not_found", f"no API key with id {key_id}", field="key_id")
    key.revoked_at = key.revoked_at or utcnow()
    return key
