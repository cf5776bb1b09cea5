"""XSD validation of outgoing messages; findings come back as data a broker can read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from declarations.codes import CEB_NS

XSD_DIR = Path(__file__).parent / "xsd"
_NS_TAG = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Finding:
    """One schema violation: which message, where, which rule, with what value."""

    message_type: str
    path: str
    rule: str
    value: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "message_type": self.message_type,
            "path": self.path,
            "rule": self.rule,
            "value": self.value,
        }


@cache
def schema_for(message_type: str) -> etree.XMLSchema:
    """The project's XSD for a message type such as 'CEB621'."""
    path = XSD_DIR / f"{message_type}.xsd"
    if not path.exists():
        raise KeyError(f"no XSD for {message_type}")
    return etree.XMLSchema(etree.parse(str(path)))


def message_type_of(root: etree._Element) -> str:
    return etree.QName(root).localname.removesuffix("Message")


def _readable(message: str) -> str:
    text = _NS_TAG.sub("", message)
    return text.replace("Element '", "element '").strip()


def _finding(message_type: str, root: etree._Element, error: etree._LogEntry) -> Finding:
    path = error.path or ""
    value = None
    if path:
        nodes = root.getroottree().xpath(path, namespaces={"ceb": CEB_NS})
        if isinstance(nodes, list) and nodes and isinstance(nodes[0], etree._Element):
            value = nodes[0].text
    path = re.sub(r"/ceb:", "/", path)
    return Finding(message_type, path, _readable(error.message), value)


def validate(root: etree._Element) -> list[Finding]:
    """Every XSD violation of a built message; an empty list means it is schema-valid."""
    message_type = message_type_of(root)
    schema = schema_for(message_type)
    if schema.validate(root):
        return []
    return [_finding(message_type, root, error) for error in schema.error_log]  # type: ignore[attr-defined]
