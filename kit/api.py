"""The API as a product: request ids, the one error shape, cursor pagination, OpenAPI polish."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from kit import guards
from kit.asgi import HttpMiddleware
from kit.errors_zh import message_zh
from kit.web import SECURITY_SCHEMES

log = logging.getLogger("clearway.http")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
T = TypeVar("T")
METRICS = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "clearway_http_requests", "HTTP requests served", ["method", "status"], registry=METRICS
)
HTTP_SECONDS = Histogram(
    "clearway_http_request_seconds", "Time to serve a request", ["method"], registry=METRICS
)


class FieldError(BaseModel):
    field: str
    code: str
    message: str
    message_zh: str | None = None


class ErrorOut(BaseModel):
    """Every error, everywhere: a machine code, a message a person can act on, the field."""

    code: str = Field(examples=["shipment_not_found"])
    message: str = Field(examples=["no shipment for order NZ-1001"])
    field: str | None = Field(default=None, examples=["order_no"])
    message_zh: str | None = Field(default=None, examples=["数据库暂不可用，请稍后重试"])
    errors: list[FieldError] | None = None
    details: dict[str, Any] | None = None


ERROR_STATUSES = {
    "400": "Bad request",
    "401": "No valid API key or session",
    "403": "Known caller, but not allowed",
    "404": "Not found (or not yours to see)",
    "409": "Conflicts with the current state",
    "422": "A field is wrong; `field` names it",
    "503": "The database or Redis is away for a moment; send again after `Retry-After` seconds",
}


class RequestIdMiddleware(HttpMiddleware):
    """Takes X-Request-ID from the caller (or makes one), echoes it, and logs each request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            HTTP_REQUESTS.labels(scope["method"], str(status[0])).inc()
            HTTP_SECONDS.labels(scope["method"]).observe(elapsed_ms / 1000)
            if log.isEnabledFor(logging.INFO):
                log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0], elapsed_ms)
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_ID.match(text) else None
    return None


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record, so a request's lines can be found together."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class PageParams(BaseModel):
    limit: int
    cursor: int | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the previous page"),
    ] = None,
) -> PageParams:
    """Cursor pagination (newest first): the cursor is the id of the last item seen."""
    return PageParams(limit=limit, cursor=int(cursor) if cursor else None)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["1042"])


def page_of(items: Sequence[T], ids: Sequence[int], params: PageParams) -> Page[T]:
    """Wrap rows fetched with `limit + 1`: the extra row only tells that another page exists."""
    more = len(items) > params.limit
    kept = list(items[: params.limit])
    next_cursor = str(ids[params.limit - 1]) if more else None
    return Page[T](items=kept, next_cursor=next_cursor)


def _error_responses(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in ERROR_STATUSES.items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["ErrorOut"].pop("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    schema["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            _error_responses(operation)
            operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    """Request ids on every response and log line; one error shape in the OpenAPI document."""
    guards.install(app)
    app.add_middleware(RequestIdMiddleware)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _log_with_request_ids()


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _log_with_request_ids() -> None:
    """Unless logging is configured already, log warnings, each with its request id, and one
    line per request when CLEARWAY_ACCESS_LOG is set (a synchronous write to stderr for every
    request costs the hot path more than the request id and metrics together)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    if os.environ.get("CLEARWAY_ACCESS_LOG", "").lower() in ("1", "true", "yes"):
        log.setLevel(logging.INFO)


async def http_error(_request: Request, error: Exception) -> Response:
    """Framework errors (unknown route, wrong method, redirects to log in) in the one shape."""
    assert isinstance(error, StarletteHTTPException)
    code = f"http_{error.status_code}"
    body = {
        "code": code,
        "message": str(error.detail),
        "message_zh": message_zh(code),
        "field": None,
    }
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)
