"""Builders of the CEB declarations (311 order, 411 payment, 511 waybill, 621 inventory, 623 cancel,
625 return), their change/resubmission forms, and the one-pass build-and-validate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from lxml import etree

from declarations.model import (
    DEFAULT_OPTIONS,
    Cancel623,
    Document,
    Inventory,
    Options,
    Order311,
    Payment411,
    Refund625,
    Transfer,
    Waybill511,
)
from declarations.render import render
from declarations.spec import SPEC_OF_CLASS
from declarations.validate import Finding, checking_parser, validate

D = TypeVar("D", Order311, Payment411, Waybill511, Inventory, Cancel623, Refund625)
_PLAIN = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def build(doc: Document, transfer: Transfer, options: Options = DEFAULT_OPTIONS) -> etree._Element:
    """The message tree of any declaration (CEB311/411/511/621/623/625 by the input's type)."""
    return etree.fromstring(render(doc, transfer, options), _PLAIN)


def build_ceb311(
    order: Order311, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """CEB311Message: the platform's order (OrderHead + OrderList)."""
    return build(order, transfer, options)


def build_ceb411(
    payment: Payment411, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """CEB411Message: the payment company's voucher (PaymentHead)."""
    return build(payment, transfer, options)


def build_ceb511(
    waybill: Waybill511, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """CEB511Message: the carrier's waybill (Logistics/LogisticsHead)."""
    return build(waybill, transfer, options)


def build_ceb623(
    cancel: Cancel623, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """CEB623Message: withdraw an accepted inventory (InvtCancel); reason is mandatory."""
    return build(cancel, transfer, options)


def build_ceb625(
    refund: Refund625, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """CEB625Message: return all or part of a released inventory (InvtRefundHead + lines)."""
    return build(refund, transfer, options)


def to_bytes(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as the transfer client expects."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class Checked:
    """A built message with its bytes and what the XSD says about it (empty: valid)."""

    data: bytes
    root: etree._Element
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


def build_checked(doc: Document, transfer: Transfer, options: Options = DEFAULT_OPTIONS) -> Checked:
    """Render, parse and validate in one pass; the fast path the pipeline and the bench use."""
    data = render(doc, transfer, options)
    message_type = SPEC_OF_CLASS[type(doc)].message_type
    try:
        root = etree.fromstring(data, checking_parser(message_type))
        return Checked(data, root, [])
    except etree.XMLSyntaxError:
        root = etree.fromstring(data, _PLAIN)
        return Checked(data, root, validate(root))


def change_of(doc: D, *, guid: str, app_time: datetime, **changes: Any) -> D:
    """The appType 2 (change) form of a declaration with a new guid, e.g. to fix and resubmit an
    inventory customs rejected (100): the copNo stays, so customs ties it to the first filing."""
    return dataclasses.replace(doc, guid=guid, app_time=app_time, app_type="2", **changes)
