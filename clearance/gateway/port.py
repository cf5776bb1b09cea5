"""The one small interface every customs gateway implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    message_type: str
    business_key: str
    xml: bytes


@dataclass(frozen=True)
class IncomingFile:
    """A receipt file claimed for processing; `done` or `failed` must follow."""

    name: str
    path: Path
    data: bytes


class Gateway(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Hand one message over; returns the file name (or id) it travels under."""
        ...

    def claim_receipts(self, limit: int) -> Iterator[IncomingFile]:
        """Receipt files waiting, each claimed so no other worker takes it."""
        ...

    def done(self, incoming: IncomingFile) -> None:
        """The receipt is stored: archive it and remove it from the exchange."""
        ...

    def failed(self, incoming: IncomingFile, reason: str) -> None:
        """The receipt could not be read: keep it aside for a person."""
        ...
