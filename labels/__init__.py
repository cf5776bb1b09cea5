"""Shipping labels: plain label data in, PDF / ZPL / PNG bytes out (knows nothing of orders)."""

from labels.fonts import LabelFontError
from labels.model import LABEL_76x130, LABEL_100x150, LabelData, LabelSize
from labels.pdf import render_pdf
from labels.preview import PreviewError, render_png_preview
from labels.printers import (
    CupsPrinter,
    Printer,
    PrintError,
    RawTcpPrinter,
    SpoolPrinter,
    printer_from_url,
)
from labels.zpl import render_zpl

__all__ = [
    "LABEL_76x130",
    "LABEL_100x150",
    "CupsPrinter",
    "LabelData",
    "LabelFontError",
    "LabelSize",
    "PreviewError",
    "PrintError",
    "Printer",
    "RawTcpPrinter",
    "SpoolPrinter",
    "printer_from_url",
    "render_pdf",
    "render_png_preview",
    "render_zpl",
]
