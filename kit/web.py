"""FastAPI plumbing: the request's unit of work and the caller's identity, as dependencies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header
from sqlmodel import Session

from kit.auth import Principal, Role, authenticate
from kit.db import session_scope
from kit.errors import Forbidden, Unauthorized


def get_session() -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _raw_key(authorization: str | None, x_api_key: str | None) -> str:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    raise Unauthorized("missing_api_key", "send an API key as 'Authorization: Bearer <key>'")


def get_principal(
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    return authenticate(session, _raw_key(authorization, x_api_key))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden("role_not_allowed", f"this needs one of: {', '.join(roles)}")
        return principal

    return check
