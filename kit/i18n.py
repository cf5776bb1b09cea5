"""Page language: the gettext catalogue (compiled from its .po at start-up) and who reads what."""

from __future__ import annotations

import gettext as gnu
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.types import Receive, Scope, Send

from kit.asgi import HttpMiddleware

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "clearway"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"  # staff and brokers on the floor read Chinese first
LANGUAGE_COOKIE = "clearway_lang"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

_current: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gnu.NullTranslations:
    """English is the source text; other languages compile their .po in memory, so a fresh clone
    needs no build step and the catalogue can never drift from a committed .mo."""
    path = po_path(language)
    if not path.exists():
        return gnu.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gnu.GNUTranslations(compiled)


def current_language() -> str:
    return _current.get()


def html_lang() -> str:
    return HTML_LANG[current_language()]


def gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def _accepted(header: str) -> list[tuple[float, str]]:
    ranked = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            ranked.append((float(quality), tag.strip().lower()))
        except ValueError:
            continue
    return sorted(ranked, key=lambda pair: -pair[0])


def from_accept_language(header: str | None) -> str | None:
    """The first language of `Accept-Language` we have pages in (`zh-CN`, `zh-Hans` → zh)."""
    for quality, tag in _accepted(header or ""):
        primary = tag.split("-")[0]
        if quality > 0 and primary in LANGUAGES:
            return primary
    return None


def choose_language(preference: str | None, accept_language: str | None) -> str:
    """The user's own setting first, then what the browser asks for, then Chinese."""
    if preference in LANGUAGES:
        return str(preference)
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    for pair in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value
    return None


class LanguageMiddleware(HttpMiddleware):
    """Sets the request's language before any page or error handler renders text."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        token = _current.set(choose_language(_cookie(headers, LANGUAGE_COOKIE), accept))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def N_(message: str) -> str:  # the gettext name `pybabel extract` looks for
    """Marks a string for the catalogue where it is defined; a template translates it with _()."""
    return message
