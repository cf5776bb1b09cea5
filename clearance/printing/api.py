"""HTTP routes of printers, print jobs and label previews (translate HTTP into service calls)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from clearance.printing import service as printing
from clearance.printing.labeling import label_data, parcel_label
from clearance.tracking.service import find_order
from kit.auth import Principal, Role
from kit.web import Admin, AnyRole, SessionDep, content_disposition, require
from labels import render_png_preview

router = APIRouter(prefix="/api/v1")
Printing = Annotated[Principal, Depends(require(Role.staff, Role.admin))]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PrinterId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ParcelId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OrderNo = Annotated[str, Path(min_length=1, max_length=60)]
WarehouseCode = Annotated[str, Path(min_length=1, max_length=8)]
PrinterName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")]


class PrinterIn(BaseModel):
    name: PrinterName
    kind: Literal["zpl", "pdf"]
    url: str = Field(min_length=1, max_length=500, examples=["tcp://10.0.0.21:9100"])
    station: str = Field(default="", max_length=40)
    dpi: int = Field(default=203, ge=100, le=600)
    resident_font: str | None = Field(
        default=None,
        max_length=64,
        examples=["E:SIMSUN.TTF"],
        description="a CJK font on the ZPL printer; none: Chinese is sent as bitmaps",
    )
    fonts: str | None = Field(
        default=None,
        max_length=500,
        examples=["E:SIMSUN.TTF,Z:ARIAL.TTF"],
        description="the fonts the printer holds, comma-separated; none: not known",
    )

    def spec(self, warehouse: str) -> printing.PrinterSpec:
        return printing.PrinterSpec(
            warehouse,
            self.name,
            self.kind,
            self.url,
            self.station,
            self.dpi,
            self.resident_font,
            self.fonts,
        )


class PrinterOut(BaseModel):
    id: int
    warehouse_code: str
    station: str
    name: str
    kind: str
    url: str
    dpi: int
    resident_font: str | None
    fonts: str | None = None
    disabled_at: datetime | None


class RemovedOut(BaseModel):
    id: int
    outcome: Literal["deleted", "disabled"]


class PrintJobIn(BaseModel):
    order_nos: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=1, max_length=printing.MAX_BATCH
    )
    printer: PrinterName | None = Field(default=None, description="default: the spool printer")


class ReprintIn(BaseModel):
    printer: PrinterName | None = Field(default=None, description="default: the same printer")


class ProgressOut(BaseModel):
    done: int
    total: int


class PrintJobOut(BaseModel):
    id: int
    printer: str
    warehouse_code: str
    order_nos: list[str]
    format: str
    status: Literal["queued", "sent", "failed"]
    reason: str | None
    attempts: int
    progress: ProgressOut
    requested_by: str
    reprint_of: int | None
    created_at: datetime
    started_at: datetime | None
    sent_at: datetime | None


@router.get("/warehouses/{code}/printers", tags=["printing"], response_model=list[PrinterOut])
def get_printers(code: WarehouseCode, session: SessionDep, principal: Printing) -> Any:
    """The warehouse's printers (the default spool printer appears after its first job)."""
    return printing.list_printers(session, principal, code)


@router.post(
    "/warehouses/{code}/printers",
    tags=["printing"],
    status_code=status.HTTP_201_CREATED,
    response_model=PrinterOut,
)
def post_printer(code: WarehouseCode, data: PrinterIn, session: SessionDep, admin: Admin) -> Any:
    """Register a printer: tcp://host:9100, cups://queue or spool:///folder."""
    return printing.add_printer(session, data.spec(code), admin.actor)


@router.put(
    "/warehouses/{code}/printers/{printer_id}", tags=["printing"], response_model=PrinterOut
)
def put_printer(
    code: WarehouseCode, printer_id: PrinterId, data: PrinterIn, session: SessionDep, admin: Admin
) -> Any:
    """Change a printer: name, station, kind, URL, dpi, resident CJK font."""
    return printing.edit_printer(session, admin, printer_id, data.spec(code))


@router.delete(
    "/warehouses/{code}/printers/{printer_id}", tags=["printing"], response_model=RemovedOut
)
def delete_printer(
    code: WarehouseCode, printer_id: PrinterId, session: SessionDep, admin: Admin
) -> Any:
    """Delete a printer; one that has printed is disabled instead, keeping its jobs' history."""
    outcome = printing.remove_printer(session, admin, code, printer_id)
    return {"id": printer_id, "outcome": outcome}


@router.post(
    "/print-jobs",
    tags=["printing"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PrintJobOut,
)
def post_print_job(data: PrintJobIn, session: SessionDep, principal: Printing) -> Any:
    """Print a batch of parcels of one warehouse as one job (ZPL or PDF, by the printer)."""
    job = printing.request_print(session, principal, data.order_nos, data.printer)
    return printing.job_view(session, job)


@router.post(
    "/print-jobs/{job_id}/reprint",
    tags=["printing"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PrintJobOut,
)
def post_reprint(
    job_id: JobId, session: SessionDep, principal: Printing, data: ReprintIn | None = None
) -> Any:
    """Print the same parcels again, as a new job that names the one it repeats."""
    printer = data.printer if data else None
    job = printing.request_reprint(session, principal, job_id, printer)
    return printing.job_view(session, job)


@router.get("/print-jobs/{job_id}", tags=["printing"], response_model=PrintJobOut)
def get_print_job(job_id: JobId, session: SessionDep, principal: Printing) -> Any:
    """A job's status (queued, sent, failed with the printer's reason) and pages rendered."""
    return printing.job_view(session, printing.find_job(session, principal, job_id))


@router.get(
    "/shipments/{order_no}/label.png",
    tags=["shipments"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The label preview"}},
)
def get_label_preview(
    order_no: OrderNo,
    session: SessionDep,
    principal: AnyRole,
    fmt: Annotated[Literal["pdf", "zpl"], Query()] = "pdf",
) -> Response:
    """The label as a PNG, rendered offline from the PDF or from the ZPL a printer would get."""
    label = label_data(session, find_order(session, order_no, principal))
    png = render_png_preview(label, fmt=fmt)
    headers = {"Content-Disposition": content_disposition(f"{order_no}-{fmt}.png")}
    return Response(png, media_type="image/png", headers=headers)


@router.get(
    "/parcels/{parcel_id}/label.png",
    tags=["shipments"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The label preview"}},
)
def get_parcel_label_preview(
    parcel_id: ParcelId,
    session: SessionDep,
    principal: AnyRole,
    fmt: Annotated[Literal["pdf", "zpl"], Query()] = "pdf",
) -> Response:
    """A parcel's label as a PNG (the scan station shows it for the parcel just scanned)."""
    png = render_png_preview(parcel_label(session, principal, parcel_id), fmt=fmt)
    headers = {"Content-Disposition": content_disposition(f"parcel-{parcel_id}-{fmt}.png")}
    return Response(png, media_type="image/png", headers=headers)
