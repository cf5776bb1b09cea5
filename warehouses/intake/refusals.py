"""The refused rows of a CSV import, kept for download by the merchant (or admin) who uploaded."""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from kit.auth import Principal, Role
from kit.errors import NotFound
from warehouses.models import ImportRefusal


def keep(session: Session, content: str, principal: Principal) -> str:
    """Store the refused rows; the token names them (unguessable, so ids cannot be walked)."""
    token = secrets.token_hex(16)
    merchant_id = principal.merchant_id if principal.role == Role.merchant else None
    session.add(
        ImportRefusal(token=token, merchant_id=merchant_id, actor=principal.actor, content=content)
    )
    return token


def fetch(session: Session, token: str, principal: Principal) -> str:
    """The refused rows, for the merchant who uploaded them or an admin; others see nothing."""
    query = select(ImportRefusal).where(col(ImportRefusal.token) == token)
    kept = session.exec(query).first()
    if kept is None or not _may_see(kept, principal):
        raise NotFound("refusals_not_found", "no refused rows under this name", field="token")
    return kept.content


def _may_see(kept: ImportRefusal, principal: Principal) -> bool:
    if principal.role == Role.admin:
        return True
    return principal.role == Role.merchant and kept.merchant_id == principal.merchant_id
