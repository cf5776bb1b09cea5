"""What every clearance page shares: rendering a template with the user and the CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from kit.auth import Principal
from kit.pages import templates


def page(request: Request, name: str, principal: Principal, **context: Any) -> HTMLResponse:
    """Render `name` for `principal`; its forms post the session's CSRF token."""
    context |= {"principal": principal, "csrf_token": getattr(request.state, "csrf_token", "")}
    return templates.TemplateResponse(request, name, context)
