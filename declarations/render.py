"""Serialises any CEB declaration to bytes from its field spec: escaped text assembled directly,
which is several times faster than building an lxml tree element by element (perf-floors.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from declarations import fmt
from declarations.codes import CEB_NS, XSI_NS
from declarations.model import DEFAULT_OPTIONS, Document, Options, Transfer
from declarations.spec import SPEC_OF_CLASS, TRANSFER, Block, Field, Kind

# Characters XML 1.0 cannot carry at all; a pasted control character must not break the file, so
# each becomes U+FFFD (one for one, so lengths checked by the XSD stay what the input had).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<ceb:{{name}} xmlns:ceb="{CEB_NS}" xmlns:xsi="{XSI_NS}"'
    ' guid="{guid}" version="{version}">'
)
BlockWriter = Callable[[list[str], Any], None]


def escape(text: str) -> str:
    """Text content escaped for XML."""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _formatter(kind: Kind, options: Options) -> Callable[[Any], str] | None:
    if kind is Kind.MONEY:
        places = options.money_places
        return lambda value: fmt.money(value, places)
    table: dict[Kind, Callable[[Any], str]] = {
        Kind.INT: str,
        Kind.QTY: fmt.quantity,
        Kind.TIME: fmt.timestamp,
        Kind.DATE: fmt.day,
    }
    return table.get(kind)


def _field_source(index: int, field: Field, tag: str, formatted: bool) -> list[str]:
    """Source lines writing one field: left out when empty, except barCode (§2.8: 无)."""
    if field.kind is Kind.BARCODE:
        lines = [
            f"  v = o.{field.attr}",
            "  if v is None or v == '':",
            "    v = '\u65e0'",
            "  if True:",
        ]
    else:
        lines = [f"  v = o.{field.attr}", "  if v is not None and v != '':"]
    lines.append(f"    t = f{index}(v)" if formatted else "    t = v")
    lines.append("    if '&' in t or '<' in t or '>' in t: t = escape(t)")
    lines.append(f"    a('<ceb:{tag}>' + t + '</ceb:{tag}>')")
    return lines


@cache
def _writer(block: Block, options: Options) -> BlockWriter:
    """A straight-line function writing one block: generated once per block and options because
    a generic loop over the field spec costs twice as much per message (bench/declarations)."""
    scope: dict[str, Any] = {"escape": escape}
    source = ["def write(out, o):", "  a = out.append", f"  a('<ceb:{block.tag}>')"]
    for index, field in enumerate(block.fields):
        tag = options.district_element if field.kind is Kind.DISTRICT else field.tag
        formatter = _formatter(field.kind, options)
        if formatter is not None:
            scope[f"f{index}"] = formatter
        source += _field_source(index, field, tag, formatter is not None)
    source.append(f"  a('</ceb:{block.tag}>')")
    exec("\n".join(source), scope)  # the source comes from our own field specs only
    writer: BlockWriter = scope["write"]
    return writer


_DEFAULT_WRITERS: dict[str, BlockWriter] = {}


def _block(out: list[str], block: Block, obj: object, options: Options) -> None:
    """Write one block; default-option writers are found by tag without hashing the spec."""
    if options is not DEFAULT_OPTIONS:
        _writer(block, options)(out, obj)
        return
    writer = _DEFAULT_WRITERS.get(block.tag)
    if writer is None:
        writer = _DEFAULT_WRITERS[block.tag] = _writer(block, options)
    writer(out, obj)


_TRANSFER_BLOCK = Block("BaseTransfer", TRANSFER)


def render(doc: Document, transfer: Transfer, options: Options = DEFAULT_OPTIONS) -> bytes:
    """The complete CEBxxxMessage for one declaration, UTF-8 with an XML declaration."""
    spec = SPEC_OF_CLASS[type(doc)]
    guid = escape(doc.guid).replace('"', "&quot;")
    out = [_OPEN.format(name=f"{spec.message_type}Message", guid=guid, version=options.version)]
    if spec.wrapper:
        out.append(f"<ceb:{spec.wrapper}>")
    _block(out, spec.head, doc, options)
    if spec.lines is not None:
        for line in doc.lines:  # type: ignore[union-attr]
            _block(out, spec.lines, line, options)
    if spec.wrapper:
        out.append(f"</ceb:{spec.wrapper}>")
    _block(out, _TRANSFER_BLOCK, transfer, options)
    out.append(f"</ceb:{spec.message_type}Message>")
    text = "".join(out)
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return text.encode("utf-8")
