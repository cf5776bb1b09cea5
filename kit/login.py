"""Logging into the pages: an API key or a user and password become a signed session cookie."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kit import i18n, throttle
from kit.auth import (
    Principal,
    Role,
    authenticate,
    check_login_csrf,
    end_session,
    issue_session,
    login_csrf_token,
    login_user,
    read_session,
)
from kit.errors import Unauthorized
from kit.pages import templates
from kit.settings import get_settings
from kit.web import SESSION_COOKIE, SessionDep, require_page

router = APIRouter(include_in_schema=False)
# A random value per browser, set with the login form: the form's CSRF token is bound to it.
BROWSER_COOKIE = "clearway_login"
HOME = {Role.merchant: "/track", Role.admin: "/dashboard", Role.broker: "/dashboard"}
ANY_PAGE = require_page(Role.admin, Role.broker, Role.staff, Role.merchant)


def safe_next(target: str | None, principal: Principal | None = None) -> str:
    """Only same-site paths: `//evil.example` or `https://…` would send the user away."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME.get(principal.role, "/") if principal else "/"


def _form(request: Request, error: str | None, next_path: str, status: int) -> HTMLResponse:
    """The login form; its CSRF token fits this browser's pre-session cookie, set here."""
    browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
    context = {"csrf_token": login_csrf_token(browser), "error": error, "next": next_path}
    response = templates.TemplateResponse(request, "login.html", context, status_code=status)
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        # Only by the scheme actually seen: with COOKIE_SECURE set but the proxy not trusted,
        # a Secure pre-session cookie would never come back and nobody could log in.
        secure=request.url.scheme == "https",
    )
    return response


def _https(request: Request) -> bool:
    """Behind a trusted proxy the scheme is the one the browser used (kit/guards.py)."""
    return get_settings().cookie_secure or request.url.scheme == "https"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _form(request, None, safe_next(next), 200)


def _principal(session: SessionDep, api_key: str, username: str, password: str) -> Principal:
    if api_key.strip():
        return authenticate(session, api_key.strip())
    if username.strip() and password:
        return login_user(session, username.strip(), password)
    raise Unauthorized("bad_credentials", "give an API key, or a user name and password")


def _try_login(
    session: SessionDep, address: str, api_key: str, username: str, password: str
) -> Principal | str:
    name = "" if api_key.strip() else username.strip()
    throttle.check_allowed(name, address)
    try:
        principal = _principal(session, api_key, username, password)
    except Unauthorized as exc:
        throttle.record_failure(name, address)
        return exc.message
    throttle.clear_user(name)
    return principal


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)],
    api_key: Annotated[str, Form(max_length=200)] = "",
    username: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Check the credentials; on success set the session cookie and go where the user was headed."""
    check_login_csrf(csrf_token, request.cookies.get(BROWSER_COOKIE))
    address = request.client.host if request.client else "unknown"
    outcome = _try_login(session, address, api_key, username, password)
    if isinstance(outcome, str):
        return _form(request, outcome, safe_next(next), 401)
    response = RedirectResponse(safe_next(next or None, outcome), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issue_session(session, outcome),
        max_age=get_settings().session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=_https(request),
    )
    response.delete_cookie(BROWSER_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(ANY_PAGE)])
def logout(request: Request, session: SessionDep) -> Response:
    """End the session server-side, so a copy of the cookie stops working too (the form
    carries the CSRF token, checked with the cookie)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(session, read_session(cookie))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
def switch_language(
    language: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """The header's language switch: a year-long preference cookie, then back to the same page."""
    reply = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        year = 365 * 24 * 3600
        reply.set_cookie(i18n.LANGUAGE_COOKIE, language, max_age=year, samesite="lax")
    return reply
