"""The China E-Port transfer client's folder exchange: write into its send folder, read receipts
from its receive folder, archive both by date under DATA_DIR for audit."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from clearance.gateway.port import IncomingFile, OutgoingMessage

STALE_CLAIM_S = 300


def atomic_write(directory: Path, name: str, data: bytes) -> Path:
    """Write via a hidden temp file then rename, so the transfer client never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{name}.tmp"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    final = directory / name
    os.replace(temp, final)
    return final


def _stamp() -> str:
    now = datetime.now()
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


class FolderExchange:
    """A gateway over two folders shared with the E-Port transfer client (or the simulator)."""

    def __init__(self, send_dir: Path, receive_dir: Path, archive_dir: Path) -> None:
        self.send_dir = send_dir
        self.receive_dir = receive_dir
        self.archive_dir = archive_dir
        self.claim_dir = receive_dir.parent / (receive_dir.name + ".processing")
        self.error_dir = archive_dir / "errors"

    def send(self, message: OutgoingMessage) -> str:
        name = f"{message.message_type}_{message.business_key}_{_stamp()}.xml"
        atomic_write(self.send_dir, name, message.xml)
        atomic_write(self._dated("sent"), name, message.xml)
        return name

    def _dated(self, kind: str) -> Path:
        return self.archive_dir / kind / datetime.now().strftime("%Y%m%d")

    def _claim(self, path: Path) -> Path | None:
        target = self.claim_dir / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None  # another worker claimed it first
        os.utime(target)  # the claim's age, not the receipt's, decides when it is stale
        return target

    def claim_receipts(self, limit: int) -> Iterator[IncomingFile]:
        self.claim_dir.mkdir(parents=True, exist_ok=True)
        if not self.receive_dir.exists():
            return
        names = sorted(
            e.name
            for e in os.scandir(self.receive_dir)
            if e.is_file() and not e.name.startswith(".")
        )
        for name in names[:limit]:
            claimed = self._claim(self.receive_dir / name)
            if claimed is not None:
                yield IncomingFile(name, claimed, claimed.read_bytes())

    def done(self, incoming: IncomingFile) -> None:
        target = self._dated("received")
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(incoming.path, target / incoming.name)

    def failed(self, incoming: IncomingFile, reason: str) -> None:
        self.error_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(incoming.path, self.error_dir / incoming.name)
        (self.error_dir / (incoming.name + ".reason.txt")).write_text(reason, encoding="utf-8")

    def release_stale_claims(self, older_than_s: float = STALE_CLAIM_S) -> int:
        """Put back files a killed worker claimed but never finished."""
        if not self.claim_dir.exists():
            return 0
        count = 0
        for entry in os.scandir(self.claim_dir):
            if time.time() - entry.stat().st_mtime > older_than_s:
                os.replace(entry.path, self.receive_dir / entry.name)
                count += 1
        return count
