"""The DxpMsg envelope: addressed to the import system, base64 data, refused when broken."""

from __future__ import annotations

import base64

import pytest

from declarations import envelope, samples
from declarations.codes import DXP_NS
from declarations.render import render
from kit.errors import DomainError
from kit.xmlsafe import parse_untrusted

D = f"{{{DXP_NS}}}"


def test_wrap_addresses_the_import_system_and_unwraps_to_the_message() -> None:
    data = render(samples.inventory(), samples.transfer())
    wrapped = envelope.wrap(data, message_type="CEB621", sender_id="DXPENTDEMO00HZ01", msg_id="M1")
    root = parse_untrusted(wrapped)
    assert root.findtext(f"{D}TransInfo/{D}ReceiverIds/{D}ReceiverId") == "DXPEDCCEB0000002"
    assert root.findtext(f"{D}TransInfo/{D}MsgType") == "CEB621Message"
    assert root.findtext(f"{D}TransInfo/{D}CreatTime")
    assert root.findtext(f"{D}AddInfo/{D}FileName") == "CEB621Message_M1.xml"
    assert envelope.sender_of(root) == "DXPENTDEMO00HZ01"
    assert base64.b64decode(root.findtext(f"{D}Data") or "") == data
    assert envelope.unwrap(root).get("guid") == samples.inventory().guid


def test_nested_envelope_is_refused() -> None:
    inner = envelope.wrap(b"<x/>", message_type="CEB621", sender_id="S")
    outer = envelope.wrap(inner, message_type="CEB621", sender_id="S")
    with pytest.raises(DomainError) as caught:
        envelope.unwrap(parse_untrusted(outer))
    assert caught.value.code == "dxp_nested"
