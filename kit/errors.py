"""Domain errors: a machine code, a message a person can act on, and the field path at fault.

DomainError
 ├── NotFound          (the thing does not exist, or is not yours to see)
 ├── Conflict          (the request clashes with the current state)
 ├── Forbidden         (you are known but may not do this)
 ├── Unauthorized      (no valid credentials)
 ├── TooManyRequests   (slow down: try again after `retry_after_s`)
 ├── Unavailable       (a backing service is away for a moment: try again after `retry_after_s`)
 └── ValidationFailed  (one or more fields are wrong; carries every issue)
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field


@dataclass(frozen=True)
class FieldIssue:
    """One thing wrong with one field of the input."""

    field: str
    code: str
    message: str
    message_zh: str | None = None

    def as_dict(self) -> dict[str, str]:
        shown = {"field": self.field, "code": self.code, "message": self.message}
        return shown | ({"message_zh": self.message_zh} if self.message_zh else {})


@dataclass
class DomainError(Exception):
    """Base of every error Clearway raises on purpose; `app.py` maps it to HTTP once."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, object] = dc_field(default_factory=dict)
    message_zh: str | None = None

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"{self.code}: {self.message}{where}"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know it exists."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, illegal transition)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unauthorized(DomainError):
    """No valid credentials were presented."""


@dataclass
class TooManyRequests(DomainError):
    """Too many attempts in a short time; the caller may try again after `retry_after_s`."""

    retry_after_s: int = 60


@dataclass
class Unavailable(DomainError):
    """The database or Redis is away for a moment (a restart, a fail-over); nothing was done,
    and the same request may be sent again after `retry_after_s`."""

    retry_after_s: int = 5


class ValidationFailed(DomainError):
    """The input is wrong; `issues` lists every field at fault."""

    def __init__(self, issues: list[FieldIssue], code: str = "validation_failed") -> None:
        first = issues[0]
        super().__init__(
            code=code, message=first.message, field=first.field, message_zh=first.message_zh
        )
        self.issues = issues

    @classmethod
    def one(cls, field: str, code: str, message: str) -> ValidationFailed:
        return cls([FieldIssue(field, code, message)])
