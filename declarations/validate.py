"""XSD validation of messages; findings come back as data, in words a customs broker reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from declarations.codes import CEB_NS

XSD_DIR = Path(__file__).parent / "xsd"
_PREFIX = re.compile(r"\{[a-z]+:[^}]*\}|\bceb:")
_ATTRIBUTE = re.compile(r"attribute '(\w+)'")
_QUOTED = re.compile(r"'([^']*)'")
PATTERN_WORDS = {
    r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}": "an upper-case UUID",
    r"\d{14}": "a time written YYYYMMDDhhmmss",
    r"\d{8}": "a date written YYYYMMDD",
    r"\d{3}": "a 3-digit customs code",
    r"\d{4}": "a 4-digit customs district code",
    r"\d{6}": "a 6-digit administrative division code",
    r"\d{10}": "a 10-digit HS code",
    r"\d{17}[0-9X]": "an 18-character ID number",
}


@dataclass(frozen=True)
class Finding:
    """One schema violation: which message, where, which rule (in words), with what value."""

    message_type: str
    path: str
    rule: str
    value: str | None
    code: str = "schema"

    @property
    def field(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "message_type": self.message_type,
            "path": self.path,
            "field": self.field,
            "code": self.code,
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


@cache
def checking_parser(message_type: str) -> etree.XMLParser:
    """A parser that validates against the XSD while it parses (one pass over the bytes)."""
    return etree.XMLParser(schema=schema_for(message_type), resolve_entities=False, no_network=True)


KNOWN_TYPES = frozenset(path.stem for path in XSD_DIR.glob("CEB*.xsd"))


def has_schema(message_type: str) -> bool:
    return message_type in KNOWN_TYPES


def message_type_of(root: etree._Element) -> str:
    return etree.QName(root).localname.removesuffix("Message")


def _quoted(message: str) -> list[str]:
    text = _PREFIX.sub("", message)
    return _QUOTED.findall(text[text.find("]") + 1 :] if "[facet" in text else text)


def _too_long(q: list[str]) -> str:
    return f"is too long: {q[-2]} characters where at most {q[-1]} are allowed"


def _too_short(q: list[str]) -> str:
    return "is empty" if q[-1] == "1" else f"is too short: at least {q[-1]} characters"


def _pattern(q: list[str]) -> str:
    return f"must be {PATTERN_WORDS.get(q[-1], 'in the form ' + q[-1])}"


def _enumeration(q: list[str]) -> str:
    return f"must be one of {', '.join(q[1:]) or 'the listed codes'}"


def _content(message: str) -> str:
    expected = re.search(r"Expected is(?: one of)? \(\s*([^)]*)\)", _PREFIX.sub("", message))
    wanted = expected.group(1).strip() if expected else "nothing more"
    if "Missing child" in message:
        return f"lacks the mandatory element {wanted}"
    return f"found where {wanted} belongs: {wanted} is missing, or this is misspelled or misplaced"


_RULES: dict[str, tuple[str, Callable[[list[str]], str]]] = {
    "SCHEMAV_CVC_MAXLENGTH_VALID": ("too_long", _too_long),
    "SCHEMAV_CVC_MINLENGTH_VALID": ("empty", _too_short),
    "SCHEMAV_CVC_LENGTH_VALID": ("wrong_length", lambda q: f"must be exactly {q[-1]} characters"),
    "SCHEMAV_CVC_PATTERN_VALID": ("wrong_form", _pattern),
    "SCHEMAV_CVC_ENUMERATION_VALID": ("not_allowed", _enumeration),
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": ("not_a_number", lambda _: "must be a number"),
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": (
        "too_many_decimals",
        lambda q: f"has more than {q[-1]} decimals",
    ),
    "SCHEMAV_CVC_TOTALDIGITS_VALID": ("too_many_digits", lambda q: f"has more than {q[-1]} digits"),
    "SCHEMAV_CVC_MININCLUSIVE_VALID": ("too_small", lambda q: f"must be at least {q[-1]}"),
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": ("too_small", lambda q: f"must be more than {q[-1]}"),
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": ("too_large", lambda q: f"must be at most {q[-1]}"),
}


def _words(error: etree._LogEntry) -> tuple[str, str]:
    quoted = _quoted(error.message)
    if error.type_name == "SCHEMAV_ELEMENT_CONTENT":
        return "structure", _content(error.message)
    if error.type_name in _RULES and quoted:
        code, explain = _RULES[error.type_name]
        return code, explain(quoted)
    return "schema", _PREFIX.sub("", error.message).replace("Element ", "element ").strip()


def _short_path(path: str) -> str:
    return _PREFIX.sub("", path) or "/"


def _node(root: etree._Element, path: str) -> etree._Element | None:
    if not path:
        return None
    try:
        nodes = root.getroottree().xpath(path, namespaces={"ceb": CEB_NS})
    except etree.XPathError:
        return None
    if isinstance(nodes, list) and nodes and isinstance(nodes[0], etree._Element):
        return nodes[0]
    return None


def _value(root: etree._Element, path: str) -> str | None:
    node = _node(root, path)
    return node.text if node is not None and len(node) == 0 else None


def _finding(message_type: str, root: etree._Element, error: etree._LogEntry) -> Finding:
    path = error.path or ""
    code, words = _words(error)
    if code == "structure":
        offender = _quoted(error.message)[0] if _quoted(error.message) else ""
        return Finding(message_type, _short_path(path), f"{offender} {words}".strip(), None, code)
    attribute = _ATTRIBUTE.search(error.message)
    if attribute:
        where = f"{_short_path(path)}/@{attribute.group(1)}"
        element = _node(root, path)
        value = element.get(attribute.group(1)) if element is not None else None
        return Finding(message_type, where, f"{attribute.group(1)} {words}", value, code)
    field = _short_path(path).rsplit("/", 1)[-1]
    return Finding(message_type, _short_path(path), f"{field} {words}", _value(root, path), code)


def validate(root: etree._Element) -> list[Finding]:
    """Every XSD violation of a message; an empty list means it is schema-valid."""
    message_type = message_type_of(root)
    if not has_schema(message_type):
        rule = f"{message_type} is not a message type Clearway has a schema for"
        return [Finding(message_type, "/", rule, None, "unknown_message")]
    schema = schema_for(message_type)
    if schema.validate(root):
        return []
    findings: dict[str, Finding] = {}
    for error in schema.error_log:  # type: ignore[attr-defined]
        finding = _finding(message_type, root, error)
        findings.setdefault(finding.path, finding)  # a bad value is also reported as a bad type
    return list(findings.values())
