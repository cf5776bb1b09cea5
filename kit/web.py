"""FastAPI plumbing: the request's unit of work and the caller's identity, as dependencies.

Every route declares who may call it with one dependency, e.g.
`principal: Annotated[Principal, Depends(require(Role.staff, Role.admin))]`
(pages use `require_page(...)`, which sends a browser without a session to /login).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, cast
from urllib.parse import quote

import anyio
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from kit.auth import (
    Principal,
    Role,
    authenticate,
    cached_principal,
    check_csrf,
    read_session,
    session_principal,
)
from kit.db import get_engine, session_scope
from kit.errors import Forbidden, Unauthorized
from kit.settings import get_settings

SESSION_COOKIE = "clearway_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ROLES_ATTR = "__clearway_roles__"

# Declared in the OpenAPI document (kit/api.py) rather than as FastAPI security dependencies:
# each dependency level costs every request its own resolution (BENCHMARKS.md, scans).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer cw_…`",
    },
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key",
    },
    "APIKeyCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The pages' signed session; writes must echo its CSRF token (X-CSRF-Token)",
    },
}


async def get_session() -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.
    Opening a session does no I/O, so it stays on the loop; the commit takes the thread pool,
    and only when the handler left something to commit."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        if _has_work(session):
            await run_in_threadpool(_commit, session)
        else:
            session.close()
    except BaseException:
        # Even when the request is cancelled, its connection must go back clean.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_roll_back, session)
        raise


def _has_work(session: Session) -> bool:
    return bool(session.in_transaction() or session.new or session.dirty or session.deleted)


def _commit(session: Session) -> None:
    with session:
        session.commit()


def _roll_back(session: Session) -> None:
    with session:
        session.rollback()


# Function scope: the commit ends before the answer is sent, so that a failed commit (the
# database restarting) is answered as such (503) and never after a success was already sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token a write carries: the X-CSRF-Token header or a form's csrf_token field."""
    header = request.headers.get("x-csrf-token")
    if header or request.method in SAFE_METHODS:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def presented_key(request: Request) -> str | None:
    """The API key a request carries: X-API-Key, or `Authorization: Bearer <key>`."""
    headers = request.headers
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def _from_key(raw: str) -> Principal:
    with session_scope() as session:  # commits the key's last-used mark
        return authenticate(session, raw)


def _from_cookie(request: Request, cookie: str, csrf: str | None) -> Principal:
    data = read_session(cookie)
    if request.method not in SAFE_METHODS:
        check_csrf(data.get("csrf"), csrf)
    request.state.csrf_token = data.get("csrf")
    with session_scope() as session:
        return session_principal(session, data)


_NOT_YET = object()


async def optional_principal(request: Request) -> Principal | None:
    """The caller by API key (header) or by session cookie; None when neither was sent.
    Found once per request; a key seen in the last few seconds needs no database."""
    found = getattr(request.state, "principal", _NOT_YET)
    if found is _NOT_YET:
        found = request.state.principal = await _find_principal(request)
    return cast(Principal | None, found)


async def _find_principal(request: Request) -> Principal | None:
    raw = presented_key(request)
    if raw:
        return cached_principal(raw) or await run_in_threadpool(_from_key, raw)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        csrf = await presented_csrf(request)
        return await run_in_threadpool(_from_cookie, request, cookie, csrf)
    return None


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def _known(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized(
            "missing_api_key", "send an API key as 'Authorization: Bearer <key>' or log in"
        )
    return principal


async def get_principal(principal: OptionalPrincipal) -> Principal:
    return _known(principal)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _check_role(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    if principal.role not in roles:
        raise Forbidden("role_not_allowed", f"this needs one of: {', '.join(roles)}")
    return principal


RoleCheck = Callable[..., Coroutine[Any, Any, Principal]]


def require(*roles: Role) -> RoleCheck:
    """A dependency that lets only the given roles through (and declares them for audits)."""

    # One level of dependencies: FastAPI's resolution of each level costs every request.
    async def check(request: Request) -> Principal:
        return _check_role(_known(await optional_principal(request)), roles)

    setattr(check, ROLES_ATTR, roles)
    return check


def require_page(*roles: Role) -> RoleCheck:
    """Like `require`, for pages: a browser without a session is sent to the login page."""

    async def check(request: Request) -> Principal:
        principal = await optional_principal(request)
        if principal is None:
            target = quote(request.url.path, safe="/")
            raise HTTPException(303, "log in first", headers={"Location": f"/login?next={target}"})
        return _check_role(principal, roles)

    setattr(check, ROLES_ATTR, roles)
    return check


def require_unless_public(*roles: Role, page: bool = False) -> Callable[..., Any]:
    """For the status pages (overview, /metrics): open to anyone when
    CLEARWAY_PUBLIC_STATUS_PAGES is on (the embedded demo's default), else like `require`."""
    strict = require_page(*roles) if page else require(*roles)

    async def check(request: Request) -> Principal | None:
        if get_settings().status_pages_public:
            return None
        return await strict(request)

    setattr(check, ROLES_ATTR, roles)
    return check


def declared_roles(call: object) -> tuple[Role, ...] | None:
    """The roles a dependency declares (`require`/`require_page`), or None."""
    return getattr(call, ROLES_ATTR, None)


Admin = Annotated[Principal, Depends(require(Role.admin))]
AnyRole = Annotated[Principal, Depends(require(Role.admin, Role.broker, Role.staff, Role.merchant))]


# RFC 5987 attr-char beyond letters and digits: everything else in filename* is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """A Content-Disposition value per RFC 6266: an ASCII `filename=` for old clients (anything
    that could end the quoted string or the header becomes `_`) and the exact name as UTF-8 in
    `filename*=` (RFC 5987)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    exact = quote(filename, safe=_ATTR_CHARS, encoding="utf-8")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
