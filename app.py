"""The FastAPI application: routers, pages, and the one mapping of domain errors to HTTP."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.telemetry import TelemetryConfig
from psycopg import OperationalError as DriverOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearance.broker import api as broker_api
from clearance.broker import pages as broker_pages
from clearance.dashboard import api as dashboard_api
from clearance.dashboard import pages as dashboard_pages
from clearance.dashboard.metrics import exposition
from clearance.dashboard.overview import STATES, counts_by_warehouse
from clearance.pipeline.wiring import ticker, wire
from clearance.printing import api as printing_api
from clearance.printing import pages as printing_pages
from clearance.simulator.customs import CustomsSimulator
from clearance.tracking import api as tracking_api
from clearance.tracking import pages as tracking_pages
from clearance.webhooks import api as webhooks_api
from clearance.webhooks import pages as webhooks_pages
from kit import api as kit_api
from kit import i18n, login
from kit.auth import Role
from kit.db import get_engine
from kit.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from kit.errors_zh import message_zh
from kit.pages import templates
from kit.queue import EmbeddedWorker, get_redis
from kit.secret import check_production_secret
from kit.settings import get_settings
from kit.web import SessionDep, require_unless_public
from warehouses import api as warehouses_api

HTTP_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    ValidationFailed: 422,
    TooManyRequests: 429,
    Unavailable: 503,
}
# What a caller is told while a backing service is away, in English and in Chinese.
AWAY = {
    "database": (
        "the database is not reachable at the moment; try again shortly",
        "数据库暂不可用，请稍后重试",
    ),
    "redis": (
        "the queue (Redis) is not reachable at the moment; try again shortly",
        "队列服务暂不可用，请稍后重试",
    ),
}


# In this order: the route table and the OpenAPI document list their routes as included.
ROUTES = (
    warehouses_api,
    tracking_api,
    webhooks_api,
    dashboard_api,
    login,
    tracking_pages,
    dashboard_pages,
    webhooks_pages,
    broker_api,
    broker_pages,
    printing_api,
    printing_pages,
)


def _status_of(error: DomainError) -> int:
    for klass in type(error).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return 400


def _with_zh(issue: dict[str, str]) -> dict[str, str]:
    """An issue's own Chinese message (it may name the figures), else the code's catalogue one."""
    return {"message_zh": message_zh(issue["code"]), **issue}


def _headline_code(error: DomainError) -> str:
    """A validation error's headline is its first issue, in English and so in Chinese too."""
    return error.issues[0].code if isinstance(error, ValidationFailed) else error.code


async def domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    body: dict[str, object] = {
        "code": error.code,
        "message": error.message,
        "message_zh": error.message_zh or message_zh(_headline_code(error)),
        "field": error.field,
    }
    if isinstance(error, ValidationFailed):
        body["errors"] = [_with_zh(issue.as_dict()) for issue in error.issues]
    if error.details:
        body["details"] = error.details
    retry_after = getattr(error, "retry_after_s", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(body, status_code=_status_of(error), headers=headers)


def service_away(service: str) -> Unavailable:
    message, message_zh = AWAY[service]
    retry_after = get_settings().retry_after_s
    return Unavailable(
        f"{service}_unavailable", message, message_zh=message_zh, retry_after_s=retry_after
    )


def _connection_lost(error: DBAPIError) -> bool:
    """A cut, refused or restarting database, or SQLite's write lock still held after its busy
    timeout: the request did nothing and may be sent again. Any other error is a fault (500)."""
    if error.connection_invalidated or isinstance(error.orig, DriverOperationalError):
        return True
    return "database is locked" in str(error.orig)


async def database_away(request: Request, error: Exception) -> Response:
    if isinstance(error, DBAPIError) and not _connection_lost(error):
        raise error
    return await domain_error(request, service_away("database"))


async def redis_away(request: Request, _error: Exception) -> Response:
    return await domain_error(request, service_away("redis"))


async def request_invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        _with_zh(
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or "body",
                "code": e["type"],
                "message": e["msg"],
            }
        )
        for e in error.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    body = {
        "code": "validation_failed",
        "message": first["message"],
        "message_zh": first.get("message_zh", message_zh("validation_failed")),
        "field": first["field"],
        "errors": errors,
    }
    return JSONResponse(body, status_code=422)


class Background:
    """The embedded default's helpers: a worker thread, the ticker and the customs simulator."""

    def __init__(self) -> None:
        settings = get_settings()
        self.worker = EmbeddedWorker() if settings.embedded_queue else None
        self.ticker = ticker()
        self.stop_sim = threading.Event()
        self.sim_thread: threading.Thread | None = None
        if settings.embedded_simulator:
            sim = CustomsSimulator.from_settings(settings)
            self.sim_thread = threading.Thread(target=sim.run, args=(self.stop_sim,), daemon=True)

    def start(self) -> None:
        for part in (self.worker, self.ticker, self.sim_thread):
            if part is not None:
                part.start()

    def stop(self) -> None:
        self.stop_sim.set()
        for part in (self.worker, self.ticker):
            if part is not None:
                part.stop()


def _telemetry() -> TelemetryConfig:
    """FastAPI's OpenTelemetry hooks cost every request even with no exporter configured; they
    run only when asked for (Clearway's own metrics are at /metrics)."""
    on = get_settings().opentelemetry
    return {"tracing": on, "metrics": on, "logs": on, "operation_spans": on}


def create_app(*, background: bool = False) -> FastAPI:
    """The application; `background` also runs the embedded worker, ticker and simulator.
    Refuses (InsecureSecret) a production set-up whose secret key anyone could know."""
    check_production_secret(get_settings())
    wire()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        helpers = Background() if background else None
        if helpers:
            helpers.start()
        yield
        if helpers:
            helpers.stop()

    app = FastAPI(
        title="Clearway",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=_telemetry(),
        description="Customs clearance and bonded-warehouse logistics for China "
        "cross-border e-commerce imports (1210 bonded / 9610 direct).",
    )
    app.add_middleware(i18n.LanguageMiddleware)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    # A database or Redis restart: 503 and Retry-After, so that callers wait and send again.
    app.add_exception_handler(DBAPIError, database_away)
    app.add_exception_handler(DriverOperationalError, database_away)
    app.add_exception_handler(RedisConnectionError, redis_away)
    app.add_exception_handler(RedisTimeoutError, redis_away)
    for routes in ROUTES:
        app.include_router(routes.router)
    kit_api.install(app)
    _pages(app)
    return app


def _pages(app: FastAPI) -> None:
    # Open in the embedded demo; in production (REDIS_URL set) an admin's, unless
    # CLEARWAY_PUBLIC_STATUS_PAGES says otherwise.
    @app.get(
        "/",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(require_unless_public(Role.admin, page=True))],
    )
    def overview(request: Request, session: SessionDep) -> HTMLResponse:
        rows = counts_by_warehouse(session)
        return templates.TemplateResponse(
            request, "overview.html", {"rows": rows, "states": STATES}
        )

    @app.get(
        "/metrics",
        include_in_schema=False,
        dependencies=[Depends(require_unless_public(Role.admin))],
    )
    def metrics() -> Response:
        return Response(exposition(), media_type="text/plain; version=0.0.4")

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        """Liveness: the process answers (it touches neither the database nor Redis)."""
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    def ready() -> JSONResponse:
        """Readiness: the database answers SELECT 1 and Redis (or its embedded stand-in) PING."""
        checks = {"database": _up(_database_answers), "redis": _up(_redis_answers)}
        down = [name for name, state in checks.items() if state != "ok"]
        if not down:
            return JSONResponse(checks)
        away = service_away(down[0])
        body = {"code": "not_ready", "message": away.message, "message_zh": away.message_zh}
        headers = {"Retry-After": str(away.retry_after_s)}
        return JSONResponse({**body, "field": None, **checks}, status_code=503, headers=headers)


def _database_answers() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis_answers() -> None:
    get_redis().ping()


def _up(check: Callable[[], None]) -> str:
    try:
        check()
    except (DBAPIError, DriverOperationalError, RedisConnectionError, RedisTimeoutError):
        return "down"
    return "ok"
