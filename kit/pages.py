"""Server-rendered pages: the Jinja2 environment every package's templates share, translated."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from kit import i18n

TEMPLATE_DIRS = [str(Path(__file__).resolve().parent.parent / "templates")]
templates = Jinja2Templates(directory=TEMPLATE_DIRS)
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
templates.env.globals["html_lang"] = i18n.html_lang
templates.env.globals["current_language"] = i18n.current_language
