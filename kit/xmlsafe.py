"""A hardened lxml parser for XML from outside: no entities, no network, bounded size and depth."""

from __future__ import annotations

from lxml import etree

from kit.errors import DomainError

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64


class UnsafeXml(DomainError):
    """The document was refused before or while parsing."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _depth(root: etree._Element) -> int:
    level = deepest = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        level += 1 if event == "start" else -1
        deepest = max(deepest, level)
    return deepest


def parse_untrusted(data: bytes, *, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse bytes from customs, a merchant or a file; refuse DTDs, entities and oversize input."""
    if len(data) > max_bytes:
        raise UnsafeXml("xml_too_large", f"document is {len(data)} bytes; the limit is {max_bytes}")
    if b"\x00" in data:  # UTF-16/32 or binary: the DOCTYPE check below could not see through it
        raise UnsafeXml("xml_encoding", "only ASCII-compatible encodings such as UTF-8 are read")
    upper = data.upper()  # a DOCTYPE may follow any amount of comment, so look everywhere
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise UnsafeXml("xml_dtd_forbidden", "documents with a DOCTYPE or entities are refused")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml("xml_malformed", f"not well-formed XML: {exc}") from exc
    if _depth(root) > MAX_DEPTH:
        raise UnsafeXml("xml_too_deep", f"document nests deeper than {MAX_DEPTH} levels")
    return root
