"""The DxpMsg transport envelope (cbec-facts §2.11): base64 of the business XML plus routing."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from lxml import etree

from declarations.codes import DXP_NS

# The import (CBI) system's DXP id, cbec-facts §2.11 [V ZJ-SIGN IEType].
IMPORT_RECEIVER = "DXPEDCCEB0000002"


def wrap(xml: bytes, *, msg_type: str, sender_id: str, file_name: str) -> bytes:
    """The message inside a DxpMsg addressed to customs' import system."""
    root = etree.Element(f"{{{DXP_NS}}}DxpMsg", nsmap={"dxp": DXP_NS})
    root.set("ver", "1.0")
    info = etree.SubElement(root, f"{{{DXP_NS}}}TransInfo")
    _text(info, "CopMsgId", str(uuid.uuid4()).upper())
    _text(info, "SenderId", sender_id)
    receivers = etree.SubElement(info, f"{{{DXP_NS}}}ReceiverIds")
    _text(receivers, "ReceiverId", IMPORT_RECEIVER)
    # "CreatTime" is customs' own spelling.
    _text(info, "CreatTime", datetime.now().strftime("%Y-%m-%dT%H:%M:%S"))
    _text(info, "MsgType", f"{msg_type}Message")
    _text(root, "Data", base64.b64encode(xml).decode())
    add_info = etree.SubElement(root, f"{{{DXP_NS}}}AddInfo")
    _text(add_info, "FileName", file_name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{{{DXP_NS}}}{name}").text = value
