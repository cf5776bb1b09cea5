"""Printers per warehouse and station, and print jobs run on the labels queue with an audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from sqlalchemy import JSON, Column, Table, UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel, col, select

from clearance.printing.labeling import labels_for_orders
from clearance.printing.targets import check_printer_url
from kit import outbound, outbox
from kit import queue as jobs
from kit.auth import Principal, Role
from kit.db import insert_ignoring_conflicts, session_scope
from kit.errors import NotFound, ValidationFailed
from kit.outbox import utcnow
from kit.settings import get_settings
from labels import LabelData, LabelFontError, PrintError, printer_from_url, render_pdf, render_zpl
from labels.zpl import valid_resident_font
from warehouses.models import Order, Warehouse

QUEUE = "labels"
RUN = "clearance.printing.service.run_print_job"
DEFAULT_PRINTER = "spool"
KINDS = ("zpl", "pdf")
MAX_ATTEMPTS = 3
MAX_BATCH = 500
# A job claimed this long ago without an outcome lost its worker (the labels queue times out
# at 120 s); a queued job never claimed this long was lost on the way to the queue.
STALE_CLAIM = timedelta(minutes=5)
LOST_ENQUEUE = timedelta(minutes=2)


class LabelPrinter(SQLModel, table=True):
    """A named printer at a warehouse (and station): ZPL label printers or PDF office printers."""

    __tablename__ = "printers"
    __table_args__ = (UniqueConstraint("warehouse_code", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_code: str = Field(max_length=8, index=True)
    station: str = Field(default="", max_length=40)
    name: str = Field(max_length=60)
    kind: str = Field(max_length=8)
    url: str = Field(max_length=500)
    dpi: int = 203
    # A ZPL printer with a CJK TrueType font installed (e.g. E:SIMSUN.TTF) prints Chinese
    # with it; without one, every text line is sent as a bitmap.
    resident_font: str | None = Field(default=None, max_length=64)
    # The fonts the printer reports it holds (its ^WD directory listing), comma-separated;
    # None: not known. The offline preview draws Chinese as bitmaps, so it cannot show a
    # resident font that is missing: `font_warning` says so instead.
    fonts: str | None = Field(default=None, max_length=500)
    # A printer with print jobs is disabled rather than deleted, so its history stays whole.
    disabled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PrintJob(SQLModel, table=True):
    """One batch of labels sent as one PDF or one ZPL stream; a reprint is a new job."""

    __tablename__ = "print_jobs"

    id: int | None = Field(default=None, primary_key=True)
    printer_id: int = Field(foreign_key="printers.id", index=True)
    warehouse_code: str = Field(max_length=8, index=True)
    order_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    format: str = Field(max_length=8)
    status: str = Field(default="queued", max_length=8, index=True)
    reason: str | None = Field(default=None, max_length=1000)
    attempts: int = 0
    pages_done: int = 0
    pages_total: int = 0
    requested_by: str = Field(max_length=120)
    reprint_of: int | None = Field(default=None, foreign_key="print_jobs.id")
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class PrinterSpec:
    warehouse: str
    name: str
    kind: str
    url: str
    station: str = ""
    dpi: int = 203
    resident_font: str | None = None
    fonts: str | None = None


def font_list(fonts: str | None) -> list[str] | None:
    """The printer's font list as names (E:SIMSUN.TTF), or None when it is not known (pure)."""
    if fonts is None:
        return None
    return [name.strip().upper() for name in fonts.split(",") if name.strip()]


def font_warning(resident_font: str | None, fonts: str | None) -> dict[str, str] | None:
    """A warning when the ZPL names a resident font the printer's font list lacks (pure): the
    preview, drawn from bitmaps, would look right while the printer drops the Chinese."""
    installed = font_list(fonts)
    if not resident_font or installed is None or resident_font.upper() in installed:
        return None
    return {
        "font": resident_font,
        "zh": f"打印机字体列表中没有 {resident_font}：预览不显示打印机字体，实际打印的中文会缺失",
        "en": f"The printer's font list lacks {resident_font}: the preview cannot show printer "
        "fonts, and the printed Chinese will be missing",
    }


def _warehouse(session: Session, code: str) -> Warehouse:
    found = session.exec(select(Warehouse).where(col(Warehouse.code) == code)).first()
    if found is None:
        raise NotFound("warehouse_not_found", f"no warehouse {code}", "warehouse")
    return found


def check_target(url: str) -> None:
    """Under `outbound_loopback_only`: a tcp:// printer on loopback, a spool folder inside the
    data directory, no CUPS queue (it may forward anywhere)."""
    parts = urlsplit(url)
    if parts.scheme == "spool":
        outbound.check_folder("url", unquote(parts.path))
    else:
        outbound.check_host("url", parts.hostname if parts.scheme == "tcp" else None)


def _check_spec(spec: PrinterSpec) -> None:
    if spec.kind not in KINDS:
        raise ValidationFailed.one("kind", "unknown_kind", "kind is zpl (label) or pdf (office)")
    try:
        printer_from_url(spec.url)
    except ValueError as exc:
        raise ValidationFailed.one("url", "unsupported_url", str(exc)) from exc
    check_target(spec.url)
    check_printer_url(spec.url)
    if spec.resident_font and spec.kind != "zpl":
        raise ValidationFailed.one(
            "resident_font", "not_a_label_printer", "only ZPL printers have resident fonts"
        )
    if spec.resident_font and not valid_resident_font(spec.resident_font):
        raise ValidationFailed.one(
            "resident_font", "bad_font_name", "a printer font is named like E:SIMSUN.TTF"
        )


def add_printer(session: Session, spec: PrinterSpec, actor: str = "clearway") -> LabelPrinter:
    """Register a printer; its URL must be one the labels package can send to."""
    _warehouse(session, spec.warehouse)
    _check_spec(spec)
    if _printer(session, spec.warehouse, spec.name) is not None:
        raise ValidationFailed.one("name", "printer_exists", f"{spec.name} exists already")
    printer = LabelPrinter(
        warehouse_code=spec.warehouse, name=spec.name, kind=spec.kind, url=spec.url
    )
    _apply(printer, spec)
    session.add(printer)
    session.flush()
    _audit_printer(session, printer, "printer.added", actor)
    return printer


def _apply(printer: LabelPrinter, spec: PrinterSpec) -> None:
    printer.station, printer.name, printer.kind = spec.station, spec.name, spec.kind
    printer.url, printer.dpi = spec.url, spec.dpi
    printer.resident_font = spec.resident_font or None
    printer.fonts = spec.fonts if spec.fonts is None else ",".join(font_list(spec.fonts) or [])


def find_printer(
    session: Session, principal: Principal, warehouse: str, printer_id: int
) -> LabelPrinter:
    """A printer of ``warehouse`` the caller may act on."""
    principal.require_warehouse(warehouse)
    printer = session.get(LabelPrinter, printer_id)
    if printer is None or printer.warehouse_code != warehouse:
        raise NotFound("printer_not_found", f"no printer {printer_id} at {warehouse}", "printer_id")
    return printer


def _not_default(printer: LabelPrinter) -> None:
    if printer.name == DEFAULT_PRINTER:
        raise ValidationFailed.one(
            "printer_id", "default_printer", "the spool printer is built in; add another instead"
        )


def edit_printer(
    session: Session, principal: Principal, printer_id: int, spec: PrinterSpec
) -> LabelPrinter:
    """Change a printer's name, station, kind, URL, dpi or resident font."""
    printer = find_printer(session, principal, spec.warehouse, printer_id)
    _not_default(printer)
    _check_spec(spec)
    other = _printer(session, spec.warehouse, spec.name)
    if spec.name == DEFAULT_PRINTER or (other is not None and other.id != printer.id):
        raise ValidationFailed.one("name", "printer_exists", f"{spec.name} exists already")
    before = printer.model_dump(include=_EDITABLE)
    _apply(printer, spec)
    session.add(printer)
    changed = {k: v for k, v in printer.model_dump(include=_EDITABLE).items() if before[k] != v}
    _audit_printer(session, printer, "printer.updated", principal.actor, {"changed": changed})
    return printer


_EDITABLE = {"station", "name", "kind", "url", "dpi", "resident_font", "fonts"}


def remove_printer(session: Session, principal: Principal, warehouse: str, printer_id: int) -> str:
    """Delete a printer never used; one with print jobs is disabled, keeping its history."""
    printer = find_printer(session, principal, warehouse, printer_id)
    _not_default(printer)
    used = select(col(PrintJob.id)).where(col(PrintJob.printer_id) == printer_id).limit(1)
    if session.exec(used).first() is None:
        _audit_printer(session, printer, "printer.deleted", principal.actor)
        session.delete(printer)
        return "deleted"
    if printer.disabled_at is None:
        printer.disabled_at = utcnow()
        session.add(printer)
        _audit_printer(session, printer, "printer.disabled", principal.actor)
    return "disabled"


def _audit_printer(
    session: Session,
    printer: LabelPrinter,
    topic: str,
    actor: str,
    extra: dict[str, Any] | None = None,
) -> None:
    assert printer.id is not None
    payload = {"warehouse": printer.warehouse_code, "name": printer.name, **(extra or {})}
    outbox.record(session, topic, ("printer", printer.id), actor=actor, payload=payload)


def _printer(session: Session, warehouse: str, name: str) -> LabelPrinter | None:
    query = select(LabelPrinter).where(
        col(LabelPrinter.warehouse_code) == warehouse, col(LabelPrinter.name) == name
    )
    return session.exec(query).first()


def default_printer(session: Session, warehouse: str) -> LabelPrinter:
    """The warehouse's spool printer under DATA_DIR/spool/<WH>/, created on first use."""
    folder = (get_settings().data_dir / "spool" / warehouse).resolve()
    row = {
        "warehouse_code": warehouse,
        "station": "",
        "name": DEFAULT_PRINTER,
        "kind": "pdf",
        "url": f"spool://{folder.as_posix()}",
        "dpi": 203,
        "created_at": utcnow(),
    }
    # Two first prints at once may both try to create it; the unique key keeps one.
    table = cast(Table, LabelPrinter.__table__)  # type: ignore[attr-defined]
    session.execute(insert_ignoring_conflicts(session, table).values(row))
    found = _printer(session, warehouse, DEFAULT_PRINTER)
    assert found is not None
    return found


def pick_printer(session: Session, warehouse: str, name: str | None) -> LabelPrinter:
    if name is None or name == DEFAULT_PRINTER:
        return default_printer(session, warehouse)
    found = _printer(session, warehouse, name)
    if found is None:
        raise NotFound("printer_not_found", f"no printer {name} at {warehouse}", "printer")
    if found.disabled_at is not None:
        raise ValidationFailed.one("printer", "printer_disabled", f"{name} is disabled")
    return found


def font_warnings(session: Session, warehouse: str) -> list[dict[str, str]]:
    """Every enabled ZPL printer of the warehouse whose font list lacks its resident font."""
    query = select(LabelPrinter).where(
        col(LabelPrinter.warehouse_code) == warehouse, col(LabelPrinter.disabled_at).is_(None)
    )
    found = []
    for printer in session.exec(query.order_by(col(LabelPrinter.name))):
        warning = font_warning(printer.resident_font, printer.fonts)
        if warning and printer.kind == "zpl":
            found.append({"printer": printer.name, **warning})
    return found


def list_printers(session: Session, principal: Principal, warehouse: str) -> list[LabelPrinter]:
    principal.require_warehouse(warehouse)
    _warehouse(session, warehouse)
    query = select(LabelPrinter).where(col(LabelPrinter.warehouse_code) == warehouse)
    return list(session.exec(query.order_by(col(LabelPrinter.name))))


def _visible_warehouses(session: Session, principal: Principal) -> list[int] | None:
    """Warehouse ids whose parcels the caller may print; None means every warehouse."""
    if principal.role == Role.admin:
        return None
    codes = sorted(principal.warehouse_codes)
    query = select(col(Warehouse.id)).where(col(Warehouse.code).in_(codes))
    return [wid for wid in session.exec(query) if wid is not None]


def _orders(session: Session, principal: Principal, order_nos: list[str]) -> list[Order]:
    """The orders to print, in the order asked for; unknown or foreign ones are not found."""
    query = select(Order).where(col(Order.order_no).in_(set(order_nos)))
    allowed = _visible_warehouses(session, principal)
    if allowed is not None:
        query = query.where(col(Order.warehouse_id).in_(allowed))
    found: dict[str, Order] = {}
    for order in session.exec(query.order_by(col(Order.id))):
        found.setdefault(order.order_no, order)
    missing = [no for no in order_nos if no not in found]
    if missing:
        raise NotFound(
            "shipment_not_found", f"no shipment for {', '.join(missing[:5])}", "order_nos"
        )
    return [found[no] for no in order_nos]


def _one_warehouse(session: Session, orders: list[Order]) -> str:
    ids = {order.warehouse_id for order in orders}
    if len(ids) != 1:
        raise ValidationFailed.one(
            "order_nos", "mixed_warehouses", "a print job holds parcels of one warehouse"
        )
    warehouse = session.get(Warehouse, ids.pop())
    assert warehouse is not None
    return warehouse.code


def _check_batch(order_nos: list[str]) -> None:
    if not order_nos or len(order_nos) > MAX_BATCH:
        raise ValidationFailed.one(
            "order_nos", "batch_size", f"a print job holds 1 to {MAX_BATCH} parcels"
        )
    if len(set(order_nos)) != len(order_nos):
        raise ValidationFailed.one("order_nos", "duplicate_order", "each parcel once per job")


def request_print(
    session: Session, principal: Principal, order_nos: list[str], printer: str | None
) -> PrintJob:
    """Queue one print job for a batch of parcels of one warehouse."""
    _check_batch(order_nos)
    orders = _orders(session, principal, order_nos)
    warehouse = _one_warehouse(session, orders)
    principal.require_warehouse(warehouse)
    ids = [order.id for order in orders if order.id is not None]
    return _queue_job(session, pick_printer(session, warehouse, printer), ids, principal, None)


def _queue_job(
    session: Session,
    printer: LabelPrinter,
    order_ids: list[int],
    principal: Principal,
    reprint_of: int | None,
) -> PrintJob:
    assert printer.id is not None
    job = PrintJob(
        printer_id=printer.id,
        warehouse_code=printer.warehouse_code,
        order_ids=order_ids,
        format=printer.kind,
        pages_total=len(order_ids),
        requested_by=principal.actor,
        reprint_of=reprint_of,
    )
    session.add(job)
    session.flush()
    jobs.enqueue_after_commit(session, QUEUE, RUN, job.id)
    return job


def find_job(session: Session, principal: Principal, job_id: int) -> PrintJob:
    """A print job the caller may see: admins all, staff their warehouses'."""
    job = session.get(PrintJob, job_id)
    if job is None or not principal.can_act_at(job.warehouse_code):
        raise NotFound("print_job_not_found", f"no print job {job_id}", "id")
    return job


def request_reprint(
    session: Session, principal: Principal, job_id: int, printer: str | None
) -> PrintJob:
    """A new job with the same parcels (on the same printer unless another is named)."""
    original = find_job(session, principal, job_id)
    target = (
        session.get(LabelPrinter, original.printer_id)
        if printer is None
        else pick_printer(session, original.warehouse_code, printer)
    )
    assert target is not None
    return _queue_job(session, target, list(original.order_ids), principal, original.id)


def job_view(session: Session, job: PrintJob) -> dict[str, Any]:
    printer = session.get(LabelPrinter, job.printer_id)
    assert printer is not None
    query = select(col(Order.id), col(Order.order_no)).where(col(Order.id).in_(job.order_ids))
    numbers = dict(session.exec(query).all())
    return {
        **job.model_dump(exclude={"order_ids", "printer_id"}),
        "printer": printer.name,
        "order_nos": [numbers.get(oid, "") for oid in job.order_ids],
        "progress": {"done": job.pages_done, "total": job.pages_total},
    }


# --- the job -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    job_id: int
    format: str
    url: str
    dpi: int
    resident_font: str | None
    labels: list[LabelData]


def run_print_job(job_id: int) -> str:
    """Job: render the batch as one document, send it, and record the outcome (idempotent)."""
    claim = _claim(job_id)
    if claim is None:
        return "skipped"
    try:
        check_target(claim.url)
        check_printer_url(claim.url)
        data = _render(claim)
        printer_from_url(claim.url).send(data, job_name=f"clearway-print-{job_id}")
    except (PrintError, LabelFontError, ValidationFailed) as exc:
        _finish(job_id, "failed", getattr(exc, "reason", str(exc)))
        return "failed"
    _finish(job_id, "sent", None)
    return "sent"


def _claim(job_id: int) -> _Claim | None:
    """Take a queued job (a conditional update, so only one worker prints it) and its labels."""
    with session_scope() as session:
        job = session.get(PrintJob, job_id)
        if job is None or job.status != "queued":
            return None
        if job.attempts >= MAX_ATTEMPTS:
            _mark(session, job, "failed", f"gave up after {job.attempts} attempts")
            return None
        taken = session.execute(
            update(PrintJob)
            .where(col(PrintJob.id) == job_id, col(PrintJob.attempts) == job.attempts)
            .where(col(PrintJob.status) == "queued")
            .values(attempts=job.attempts + 1, started_at=utcnow(), pages_done=0)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return _claim_of(session, job)


def _claim_of(session: Session, job: PrintJob) -> _Claim:
    printer = session.get(LabelPrinter, job.printer_id)
    assert printer is not None and job.id is not None
    orders = {o.id: o for o in session.exec(select(Order).where(col(Order.id).in_(job.order_ids)))}
    labels = labels_for_orders(session, [orders[oid] for oid in job.order_ids])
    return _Claim(job.id, job.format, printer.url, printer.dpi, printer.resident_font, labels)


def _render(claim: _Claim) -> bytes:
    progress = _progress_writer(claim.job_id, len(claim.labels))
    if claim.format == "zpl" and claim.resident_font:
        font = claim.resident_font
        return render_zpl(
            claim.labels, dpi=claim.dpi, cjk="resident", resident_font=font, progress=progress
        )
    if claim.format == "zpl":
        return render_zpl(claim.labels, dpi=claim.dpi, cjk="bitmap", progress=progress)
    return render_pdf(claim.labels, progress=progress)


def _progress_writer(job_id: int, total: int) -> Callable[[int, int], None]:
    """Stores pages rendered about ten times per job, each in its own short transaction."""
    step = max(1, total // 10)

    def report(done: int, _total: int) -> None:
        if done % step == 0 or done == total:
            with session_scope() as session:
                statement = update(PrintJob).where(col(PrintJob.id) == job_id)
                session.execute(statement.values(pages_done=done))

    return report


def _finish(job_id: int, status: str, reason: str | None) -> None:
    with session_scope() as session:
        job = session.get(PrintJob, job_id)
        assert job is not None
        _mark(session, job, status, reason)


def _mark(session: Session, job: PrintJob, status: str, reason: str | None) -> None:
    job.status, job.reason = status, reason[:1000] if reason else None
    if status == "sent":
        job.sent_at = utcnow()
        _audit(session, job)
    session.add(job)


def _audit(session: Session, job: PrintJob) -> None:
    """``label.printed`` / ``label.reprinted`` on each order's timeline, by who asked."""
    topic = "label.reprinted" if job.reprint_of else "label.printed"
    payload = {"print_job_id": job.id, "format": job.format, "reprint_of": job.reprint_of}
    events = [
        {
            "topic": topic,
            "subject_type": "order",
            "subject_id": order_id,
            "actor": job.requested_by,
            "source": f"print_job:{job.id}",
            "payload": payload,
        }
        for order_id in job.order_ids
    ]
    outbox.record_many(session, events)


def sweep_print_jobs() -> int:
    """Re-enqueue jobs lost before a worker took them; fail jobs whose worker vanished."""
    now = utcnow()
    with session_scope() as session:
        queued = select(PrintJob).where(col(PrintJob.status) == "queued")
        lost = 0
        for job in session.exec(queued.limit(MAX_BATCH)):
            lost += _sweep_one(session, job, now)
        return lost


def _sweep_one(session: Session, job: PrintJob, now: datetime) -> int:
    if job.attempts == 0 and job.created_at <= now - LOST_ENQUEUE:
        jobs.enqueue_after_commit(session, QUEUE, RUN, job.id)
        return 1
    if job.started_at is not None and job.started_at <= now - STALE_CLAIM:
        reason = "the worker stopped while printing; check the printer before reprinting"
        _mark(session, job, "failed", reason)
        return 1
    return 0
