"""HTTP guards on every request: forwarded headers from trusted proxies only, a body-size limit
before anything parses, and the security headers (CSP with a per-request script nonce)."""

from __future__ import annotations

import json
import secrets

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kit.asgi import HttpMiddleware
from kit.settings import get_settings

NONCE_KEY = "csp_nonce"
# FastAPI's /docs and /redoc load Swagger UI and ReDoc from their CDN with an inline script; they
# show only the public API description, never data.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
TOO_LARGE = {
    "code": "body_too_large",
    "field": None,
    "message_zh": "请求内容过大，请拆分后重试",
}


def page_csp(nonce: str) -> str:
    """Scripts only from this site or inline with this response's nonce; no framing at all.
    Inline style attributes stay allowed: the pages use them and they cannot run code."""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
        "media-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'; object-src 'none'"
    )


def security_headers(path: str, nonce: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path.startswith(DOCS_PATHS) else page_csp(nonce)
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


class SecurityHeadersMiddleware(HttpMiddleware):
    """Puts a fresh nonce in the request state (templates write it on their <script> tags) and
    the security headers on every response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        extra = security_headers(scope["path"], nonce)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message["headers"] = [*kept, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware(HttpMiddleware):
    """Refuses a body over `max_body_bytes` with 413 before the app reads it: by its
    Content-Length, or, sent without one (chunked), once that many bytes have arrived."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = get_settings().max_body_bytes
        length = _content_length(scope)
        if length is not None:
            if length > limit:
                await _refuse(send, limit)
                return
            await self.app(scope, receive, send)
            return
        await self._buffered(scope, receive, send, limit)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(send, limit)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    message = f"the request body is larger than {limit} bytes; send less at a time"
    body = json.dumps({**TOO_LARGE, "message": message}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Outermost first: forwarded headers believed only from CLEARWAY_TRUSTED_PROXIES (uvicorn's
    parser), then the security headers, then the body limit."""
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    hosts = [h.strip() for h in get_settings().trusted_proxies.split(",") if h.strip()]
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=hosts)
