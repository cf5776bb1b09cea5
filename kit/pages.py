"""Server-rendered pages: the Jinja2 environment every package's templates share."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATE_DIRS = [str(Path(__file__).resolve().parent.parent / "templates")]
templates = Jinja2Templates(directory=TEMPLATE_DIRS)
