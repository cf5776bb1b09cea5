"""The printers page of a warehouse: staff see the printers, admins add, edit and remove them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from clearance.printing import service as printing
from kit.auth import Principal, Role
from kit.errors import DomainError, ValidationFailed
from kit.pages import templates
from kit.web import SessionDep, require_page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require_page(Role.staff, Role.admin))]
AdminPage = Annotated[Principal, Depends(require_page(Role.admin))]
WarehouseCode = Annotated[str, Path(min_length=1, max_length=8)]
PrinterId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Name = Annotated[str, Form(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")]
Kind = Annotated[str, Form(pattern="^(zpl|pdf)$")]
Url = Annotated[str, Form(min_length=1, max_length=500)]
Station = Annotated[str, Form(max_length=40)]
Dpi = Annotated[int, Form(ge=100, le=600)]
Font = Annotated[str, Form(max_length=64)]
Fonts = Annotated[str, Form(max_length=500)]


def _render(
    request: Request, session: SessionDep, principal: Principal, code: str, error: str = ""
) -> HTMLResponse:
    context = {
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "code": code,
        "printers": printing.list_printers(session, principal, code),
        "font_warnings": {w["printer"]: w for w in printing.font_warnings(session, code)},
        "error": error,
        "default_name": printing.DEFAULT_PRINTER,
    }
    return templates.TemplateResponse(
        request, "printers.html", context, status_code=400 if error else 200
    )


@router.get("/printers/{code}", response_class=HTMLResponse)
def printers_page(
    request: Request, code: WarehouseCode, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The warehouse's printers; admins get the forms to change them."""
    return _render(request, session, principal, code)


def _said(exc: DomainError) -> str:
    """The error in the page's words: each field at fault with its code and message."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{i.field}: {i.message} ({i.code})" for i in exc.issues)
    return str(exc)


def printer_form(
    code: WarehouseCode,
    name: Name,
    kind: Kind,
    url: Url,
    station: Station = "",
    dpi: Dpi = 203,
    resident_font: Font = "",
    fonts: Fonts = "",
) -> printing.PrinterSpec:
    """A printer as the page's add and edit forms describe it (an empty font list: unknown)."""
    spec = printing.PrinterSpec(code, name, kind, url, station, dpi, resident_font or None)
    return replace(spec, fonts=fonts.strip() or None)


PrinterForm = Annotated[printing.PrinterSpec, Depends(printer_form)]
Page = HTMLResponse | RedirectResponse


@dataclass
class PageChange:
    """An admin's change on the printers page: done and back to the page, or the page again
    with what was wrong."""

    request: Request
    session: Session
    principal: Principal
    code: str

    def apply(self, action: Callable[[], object]) -> Page:
        try:
            action()
        except DomainError as exc:
            self.session.rollback()
            return _render(self.request, self.session, self.principal, self.code, _said(exc))
        return RedirectResponse(f"/printers/{self.code}", status_code=303)


def page_change(
    request: Request, code: WarehouseCode, session: SessionDep, principal: AdminPage
) -> PageChange:
    return PageChange(request, session, principal, code)


Change = Annotated[PageChange, Depends(page_change)]


@router.post("/printers/{code}/add", response_class=HTMLResponse, response_model=None)
def printers_add(spec: PrinterForm, change: Change) -> Page:
    """Register a printer from the page's form."""
    return change.apply(lambda: printing.add_printer(change.session, spec, change.principal.actor))


@router.post("/printers/{code}/{printer_id}/edit", response_class=HTMLResponse, response_model=None)
def printers_edit(printer_id: PrinterId, spec: PrinterForm, change: Change) -> Page:
    """Change a printer from its row's form."""
    session, principal = change.session, change.principal
    return change.apply(lambda: printing.edit_printer(session, principal, printer_id, spec))


@router.post(
    "/printers/{code}/{printer_id}/delete", response_class=HTMLResponse, response_model=None
)
def printers_delete(printer_id: PrinterId, change: Change) -> Page:
    """Delete a printer, or disable it when it has printed."""
    session, principal, code = change.session, change.principal, change.code
    return change.apply(lambda: printing.remove_printer(session, principal, code, printer_id))
