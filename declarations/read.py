"""Reads declarations back from XML into the typed inputs (the simulator's view of what it got)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from declarations import fmt
from declarations.codes import CEB_NS
from declarations.model import Document, Transfer
from declarations.spec import SPECS, TRANSFER, Block, Kind, MessageSpec
from kit.errors import DomainError

Q = f"{{{CEB_NS}}}"
_DISTRICT_TAGS = ("consigneeDitrict", "consigneeDistrict")


class UnreadableMessage(DomainError):
    """A message whose values cannot be read into its typed form (run the XSD first)."""


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {text!r}") from exc


_PARSERS: dict[Kind, Callable[[str], Any]] = {
    Kind.TEXT: str,
    Kind.DISTRICT: str,
    Kind.BARCODE: lambda text: None if text == "无" else text,
    Kind.INT: int,
    Kind.MONEY: _decimal,
    Kind.QTY: _decimal,
    Kind.TIME: fmt.parse_timestamp,
    Kind.DATE: fmt.parse_day,
}


def _texts(element: etree._Element) -> dict[str, str]:
    return {
        etree.QName(child).localname: (child.text or "")
        for child in element
        if isinstance(child.tag, str)
    }


def _values(block: Block, element: etree._Element) -> dict[str, Any]:
    texts = _texts(element)
    values: dict[str, Any] = {}
    for field in block.fields:
        tags = _DISTRICT_TAGS if field.kind is Kind.DISTRICT else (field.tag,)
        text = next((texts[tag] for tag in tags if texts.get(tag)), None)
        if text is not None:
            try:
                values[field.attr] = _PARSERS[field.kind](text)
            except ValueError as exc:
                raise UnreadableMessage("bad_value", str(exc), field=field.tag) from exc
    return values


def _optional_missing(cls: type, values: dict[str, Any]) -> dict[str, None]:
    """Optional inputs without a default (e.g. emsNo, mandatory only for 1210) left out."""
    return {
        f.name: None
        for f in dataclasses.fields(cls)
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and "None" in str(f.type)
    }


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    values = {**_optional_missing(cls, values), **values}
    try:
        return cls(**values)
    except TypeError as exc:
        raise UnreadableMessage("missing_fields", f"{where}: {exc}", field=where) from exc


def _container(spec: MessageSpec, root: etree._Element) -> etree._Element:
    if spec.wrapper is None:
        return root
    wrapper = root.find(Q + spec.wrapper)
    if wrapper is None:
        raise UnreadableMessage("missing_block", f"no {spec.wrapper}", field=spec.wrapper)
    return wrapper


def read_document(root: etree._Element) -> Document:
    """The typed declaration carried by a CEB311/411/511/621/623/625 message tree."""
    message_type = etree.QName(root).localname.removesuffix("Message")
    spec = SPECS.get(message_type)
    if spec is None:
        raise UnreadableMessage("unknown_message", f"not a declaration: {message_type}")
    container = _container(spec, root)
    head = container.find(Q + spec.head.tag)
    if head is None:
        raise UnreadableMessage("missing_block", f"no {spec.head.tag}", field=spec.head.tag)
    values = _values(spec.head, head)
    if spec.lines is not None and spec.line_cls is not None:
        lines = container.findall(Q + spec.lines.tag)
        values["lines"] = tuple(
            _build(spec.line_cls, _values(spec.lines, line), spec.lines.tag) for line in lines
        )
    result: Document = _build(spec.cls, values, spec.head.tag)
    return result


def read_transfer(root: etree._Element) -> Transfer:
    """The BaseTransfer block of a message: who sent it."""
    element = root.find(Q + "BaseTransfer")
    if element is None:
        raise UnreadableMessage("missing_block", "no BaseTransfer", field="BaseTransfer")
    result: Transfer = _build(
        Transfer, _values(Block("BaseTransfer", TRANSFER), element), "BaseTransfer"
    )
    return result
