"""The DxpMsg transport envelope (cbec-facts §2.11): base64 business XML addressed over DXP."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from lxml import etree

from declarations.codes import DXP_NS, DXP_RECEIVER_IMPORT
from declarations.fmt import china_now, china_time
from kit.errors import DomainError
from kit.xmlsafe import parse_untrusted

D = f"{{{DXP_NS}}}"


class EnvelopeError(DomainError):
    """A DxpMsg that carries no readable business message."""


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, D + name)
    element.text = text
    return element


def wrap(
    data: bytes,
    *,
    message_type: str,
    sender_id: str,
    receiver_id: str = DXP_RECEIVER_IMPORT,
    msg_id: str | None = None,
    created: datetime | None = None,
    file_name: str | None = None,
) -> bytes:
    """Wrap a business message (e.g. a CEB621Message) for the DXP channel; the import system's
    ReceiverId is DXPEDCCEB0000002."""
    msg_id = msg_id or str(uuid.uuid4()).upper()
    root = etree.Element(D + "DxpMsg", nsmap={"dxp": DXP_NS})
    root.set("ver", "1.0")
    info = _sub(root, "TransInfo")
    _sub(info, "CopMsgId", msg_id)
    _sub(info, "SenderId", sender_id)
    _sub(_sub(info, "ReceiverIds"), "ReceiverId", receiver_id)
    stamp = china_time(created or china_now())
    _sub(info, "CreatTime", stamp.strftime("%Y-%m-%dT%H:%M:%S"))  # "Creat" is the real name
    _sub(info, "MsgType", f"{message_type}Message")
    _sub(root, "Data", base64.b64encode(data).decode("ascii"))
    name = file_name or f"{message_type}Message_{msg_id}.xml"
    _sub(_sub(root, "AddInfo"), "FileName", name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def is_envelope(root: etree._Element) -> bool:
    return etree.QName(root).localname == "DxpMsg"


def _data_element(root: etree._Element) -> etree._Element | None:
    found = root.find(D + "Data")
    if found is not None:
        return found
    return next((el for el in root if etree.QName(el).localname == "Data"), None)


def unwrap(root: etree._Element) -> etree._Element:
    """The business message inside a DxpMsg, parsed with the same hardened parser."""
    data = _data_element(root)
    if data is None or not (data.text or "").strip():
        raise EnvelopeError("dxp_without_data", "DxpMsg envelope carries no Data element")
    try:
        inner = base64.b64decode("".join((data.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError("dxp_bad_base64", "DxpMsg Data is not base64") from exc
    message = parse_untrusted(inner)
    if is_envelope(message):
        raise EnvelopeError("dxp_nested", "a DxpMsg inside a DxpMsg is refused")
    return message


def sender_of(root: etree._Element) -> str | None:
    """SenderId of an envelope, to address the answer."""
    found = root.find(f"{D}TransInfo/{D}SenderId")
    return found.text if found is not None else None
