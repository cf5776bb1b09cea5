"""HTTP routes of the floor: intake, scans, undo, bags, exceptions (HTTP to service calls only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, File, Header, Path, Query, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kit.auth import Principal, Role
from kit.settings import get_settings
from kit.web import SessionDep, content_disposition, require
from warehouses.floor import exceptions, pages, station
from warehouses.floor.bags import create_bag
from warehouses.floor.scanning import scan_many
from warehouses.floor.writes import BUSY_AFTER_S, busy, grouped_scan, sqlite_writer
from warehouses.intake import bulk, refusals
from warehouses.intake.service import cancel_order, submit_order
from warehouses.models import Merchant, Order, Parcel, Warehouse
from warehouses.schemas import (
    BagIn,
    BagOut,
    BatchIn,
    BatchOut,
    CancelIn,
    ExceptionAction,
    ExceptionOut,
    FloorSummary,
    OrderIn,
    OrderOut,
    ScanBatchIn,
    ScanBatchOut,
    ScanIn,
    ScanLogRow,
    ScanOut,
    StationIn,
    UndoOut,
)

api = APIRouter(prefix="/api/v1", tags=["floor"])
# The scan routes are matched first: every route tried before them costs each scan.
scans_api = APIRouter(prefix="/api/v1", tags=["floor"])
MerchantOrAdmin = Annotated[Principal, Depends(require(Role.merchant, Role.admin))]
Floor = Annotated[Principal, Depends(require(Role.staff, Role.admin))]
Bagger = Annotated[Principal, Depends(require(Role.staff, Role.merchant, Role.admin))]
IdempotencyKey = Annotated[str | None, Header(max_length=60)]
DryRun = Annotated[bool, Query(description="check every order, store nothing")]


async def one_sqlite_writer() -> AsyncIterator[None]:
    """A floor write's turn at SQLite's single writer, from before its first read until after
    its commit (warehouses/floor/writes.py). Async, so that PostgreSQL pays no thread hop."""
    if not get_settings().is_sqlite:
        yield
        return
    if not sqlite_writer.acquire(blocking=False):
        if not await run_in_threadpool(sqlite_writer.acquire, True, BUSY_AFTER_S):
            raise busy()
    try:
        yield
    finally:
        sqlite_writer.release()


# Declared before the session so that it is taken first and let go after the commit.
Serialised = Annotated[None, Depends(one_sqlite_writer)]


def _out(order: Order, merchant: str, warehouse: str, parcel: tuple[str, str]) -> OrderOut:
    return OrderOut(
        id=order.id or 0,
        order_no=order.order_no,
        merchant=merchant,
        warehouse=warehouse,
        goods_value=order.goods_value,
        freight=order.freight,
        insured_fee=order.insured_fee,
        discount=order.discount,
        tax_total=order.tax_total,
        tax_computed=order.tax_computed,
        actural_paid=order.actural_paid,
        tracking_no=parcel[0],
        waybill_no=parcel[1],
        status=order.status,
    )


def order_out(session: Session, order: Order) -> OrderOut:
    """An order as stored, with its merchant, warehouse and parcel read back."""
    parcel = session.exec(select(Parcel).where(Parcel.order_id == order.id)).one()
    merchant = session.get(Merchant, order.merchant_id)
    warehouse = session.get(Warehouse, order.warehouse_id)
    codes = (merchant.code if merchant else "", warehouse.code if warehouse else "")
    return _out(order, *codes, (parcel.tracking_no, parcel.waybill_no))


def new_order_out(order: Order, data: OrderIn) -> OrderOut:
    """The answer for an order just taken, from what was posted and stored (no query)."""
    return _out(order, data.merchant, data.warehouse, (data.tracking_no, data.waybill_no))


@api.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
def post_order(
    data: OrderIn,
    session: SessionDep,
    principal: MerchantOrAdmin,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Take one order: every CBEC rule is checked; a refused order stores nothing.

    With an `Idempotency-Key` header a retried request returns the first answer (200)."""
    try:
        order, replayed = submit_order(session, data, principal, idempotency_key)
    except IntegrityError:
        # A concurrent request committed the same key or number between our reads and our
        # inserts: judged again, this one is its replay (same key) or refused by name (409).
        session.rollback()
        order, replayed = submit_order(session, data, principal, idempotency_key)
    if replayed:
        response.status_code = status.HTTP_200_OK
        return order_out(session, order)
    return new_order_out(order, data)


def _import(
    session: Session,
    candidates: list[bulk.Candidate],
    principal: Principal,
    dry_run: bool,
    idempotency_key: str | None,
) -> BatchOut:
    """Batch and CSV alike: chunks of orders, each committed as it is taken."""
    return bulk.import_orders(
        session,
        candidates,
        principal,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        commit=session.commit,
    )


@api.post("/orders/batch", response_model=BatchOut)
def post_order_batch(
    data: BatchIn,
    session: SessionDep,
    principal: MerchantOrAdmin,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    """Take many orders; answers order by order (accepted, or refused with field and reason)."""
    candidates = bulk.json_candidates(data.orders)
    return _import(session, candidates, principal, dry_run, idempotency_key)


@api.post("/orders/import", response_model=BatchOut)
def post_order_csv(
    file: Annotated[UploadFile, File(description="CSV, one row per order line")],
    session: SessionDep,
    principal: MerchantOrAdmin,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    """Import a CSV (UTF-8 or GB18030); rows of one order share merchant and order_no. At most
    `csv_max_rows` order lines; refusals come as a summary by reason and a CSV to download."""
    bulk.check_csv_size(file.size)
    rows = bulk.csv_text(file.file)
    candidates = bulk.csv_candidates(rows, get_settings().csv_max_rows)
    out = _import(session, candidates, principal, dry_run, idempotency_key)
    if out.refused:
        token = refusals.keep(session, bulk.refused_rows_csv(candidates, out.results), principal)
        out.refused_rows_url = f"/api/v1/orders/import/refused/{token}.csv"
    return out


@api.get(
    "/orders/import/refused/{token}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The refused rows"}},
)
def get_refused_rows(
    token: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    session: SessionDep,
    principal: MerchantOrAdmin,
) -> Response:
    """A CSV import's refused rows as uploaded, each with its error (the uploader's only)."""
    content = refusals.fetch(session, token, principal)
    headers = {"Content-Disposition": content_disposition("refused-rows.csv", "attachment")}
    return Response(content.encode("utf-8-sig"), media_type="text/csv", headers=headers)


@api.post("/orders/{order_no}/cancel", response_model=OrderOut)
def post_cancel(
    order_no: str, data: CancelIn, session: SessionDep, principal: MerchantOrAdmin
) -> OrderOut:
    """Cancel an order (merchant); the floor will refuse its parcel from now on."""
    return order_out(session, cancel_order(session, order_no, data.reason, principal))


@scans_api.post("/scans", response_model=ScanOut)
async def post_scan(data: ScanIn, principal: Floor) -> ScanOut:
    """Judge one scan (inbound or gate-out): the outcome, what it matched, and why."""
    principal.require_warehouse(data.warehouse)  # refused here, not inside a shared batch
    return await grouped_scan(data, principal)


@scans_api.post("/scans/batch", response_model=ScanBatchOut)
async def post_scan_batch(
    _writer: Serialised, data: ScanBatchIn, session: SessionDep, principal: Floor
) -> ScanBatchOut:
    """Upload buffered scans (offline handheld, conveyor tunnel); answers each in order.
    Client scan ids make a re-upload harmless."""
    results = await run_in_threadpool(_scan_batch, session, data.scans, principal)
    return ScanBatchOut(results=results)


def _scan_batch(session: Session, scans: list[ScanIn], principal: Principal) -> list[ScanOut]:
    try:
        return scan_many(session, scans, principal)
    except (IntegrityError, psycopg.IntegrityError):
        # Another process logged one of these client scan ids first (the hot statements raise
        # the driver's own error): judged again, that scan is answered as its replay.
        session.rollback()
        return scan_many(session, scans, principal)


@api.get("/scans", response_model=list[ScanLogRow])
def get_scans(
    warehouse: str,
    station_name: Annotated[str, Query(alias="station")],
    session: SessionDep,
    principal: Floor,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[ScanLogRow]:
    """A station's latest scans, newest first."""
    return station.recent_scans(session, warehouse, station_name, principal, limit)


@api.post("/scans/undo", response_model=UndoOut)
def post_undo(
    _writer: Serialised, data: StationIn, session: SessionDep, principal: Floor
) -> UndoOut:
    """Undo the station's last scan: its parcel goes back to expected, exceptions withdrawn."""
    return station.undo_last(session, data, principal)


@api.post("/bags", status_code=status.HTTP_201_CREATED, response_model=BagOut)
def post_bag(data: BagIn, session: SessionDep, principal: Bagger) -> BagOut:
    """Register a bag label covering several parcels of one warehouse."""
    return create_bag(session, data, principal)


@api.get("/warehouses/{code}/floor", response_model=FloorSummary)
def get_floor(code: str, session: SessionDep, principal: Floor) -> FloorSummary:
    """Parcels expected, received and shipped, and open exceptions by reason."""
    principal.require_warehouse(code)
    return station.floor_summary(session, code)


@api.get("/warehouses/{code}/exceptions", response_model=list[ExceptionOut])
def get_exceptions(
    code: str, session: SessionDep, principal: Floor, state: str = "open"
) -> list[ExceptionOut]:
    """The warehouse's exception queue (open by default), oldest first."""
    return exceptions.list_exceptions(session, code, principal, state)


@api.post("/exceptions/{exception_id}/actions", response_model=ExceptionOut)
def post_exception_action(
    _writer: Serialised,
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: ExceptionAction,
    session: SessionDep,
    principal: Floor,
) -> ExceptionOut:
    """Attach the parcel to an order, mark it for return to sender, or dispose of it."""
    return exceptions.act(session, exception_id, data, principal)


# The app includes this one router: the floor's API and its pages.
router = APIRouter()
router.include_router(scans_api)
router.include_router(api)
router.include_router(pages.router)
