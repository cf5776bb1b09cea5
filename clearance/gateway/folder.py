"""The China E-Port transfer client's folder exchange: write into its send folder, read receipts
from its receive folder, archive both by date under DATA_DIR for audit."""

from __future__ import annotations

import errno
import os
import random
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from clearance.gateway.port import IncomingFile, OutgoingMessage
from declarations import envelope

STALE_CLAIM_S = 300


def atomic_write(directory: Path, name: str, data: bytes, *, durable: bool = True) -> Path:
    """Write via a hidden temp file then rename, so the transfer client never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{name}.tmp"
    with open(temp, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    final = directory / name
    os.replace(temp, final)
    return final


def atomic_write_many(files: list[tuple[Path, str, bytes]]) -> None:
    """Many atomic writes with one wait for the disk: every temp file is written, then each is
    fsynced (the first fsync commits the journal for all of them), then each is renamed."""
    temps = []
    for directory in {directory for directory, _, _ in files}:
        directory.mkdir(parents=True, exist_ok=True)
    for directory, name, data in files:
        temp = directory / f".{name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
        temps.append(temp)
    for temp in temps:
        descriptor = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    for temp, (directory, name, _) in zip(temps, files, strict=True):
        os.replace(temp, directory / name)


def _archive_copy(sent: Path, archived: Path, data: bytes) -> None:
    """The archive's copy of a sent file: a hard link to the same (already fsynced) inode, which
    the transfer client's removal leaves intact; a durable copy across file systems."""
    try:
        os.link(sent, archived)
    except FileExistsError:
        return
    except OSError:
        atomic_write(archived.parent, archived.name, data)


def _move(source: str, target: str) -> None:
    """A rename where possible; a copy across file systems (archive on another disk)."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(source, target)


def _stamp() -> str:
    now = datetime.now()
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


class FolderExchange:
    """A gateway over two folders shared with the E-Port transfer client (or the simulator)."""

    def __init__(
        self,
        send_dir: Path,
        receive_dir: Path,
        archive_dir: Path,
        *,
        envelope_sender: str | None = None,
        file_prefix: str = "",
    ) -> None:
        self.send_dir = send_dir
        self.receive_dir = receive_dir
        self.archive_dir = archive_dir
        self.envelope_sender = envelope_sender
        self.file_prefix = file_prefix
        self.claim_dir = receive_dir.parent / (receive_dir.name + ".processing")
        self.error_dir = archive_dir / "errors"
        self._receive_dir, self._claim_dir = str(receive_dir), str(self.claim_dir)

    def send(self, message: OutgoingMessage) -> str:
        name, data = self._named(message)
        atomic_write(self.send_dir, name, data)
        atomic_write(self._dated("sent"), name, data)
        return name

    def send_many(self, messages: list[OutgoingMessage]) -> list[str]:
        """Send a batch with one wait for the disk; all or nothing is raised as OSError."""
        named = [self._named(message) for message in messages]
        atomic_write_many([(self.send_dir, name, data) for name, data in named])
        archive = self._dated("sent")
        archive.mkdir(parents=True, exist_ok=True)
        for name, data in named:
            _archive_copy(self.send_dir / name, archive / name, data)
        return [name for name, _ in named]

    def _named(self, message: OutgoingMessage) -> tuple[str, bytes]:
        name = f"{self.file_prefix}{message.message_type}_{message.business_key}_{_stamp()}.xml"
        data = message.xml
        if self.envelope_sender:
            data = envelope.wrap(
                data,
                message_type=message.message_type,
                sender_id=self.envelope_sender,
                file_name=name,
            )
        return name, data

    def picked_up(self, file_name: str) -> bool:
        """The transfer client removes what it has taken from the send folder."""
        return not (self.send_dir / file_name).exists()

    def _dated(self, kind: str) -> Path:
        return self.archive_dir / kind / datetime.now().strftime("%Y%m%d")

    def _claim(self, name: str) -> str | None:
        target = os.path.join(self._claim_dir, name)
        try:
            os.rename(os.path.join(self._receive_dir, name), target)
        except FileNotFoundError:
            return None  # another worker claimed it first
        os.utime(target)  # the claim's age, not the receipt's, decides when it is stale
        return target

    def waiting(self) -> list[str]:
        """Names of the receipt files waiting in the receive folder."""
        if not self.receive_dir.exists():
            return []
        with os.scandir(self.receive_dir) as entries:
            return [e.name for e in entries if not e.name.startswith(".") and e.is_file()]

    def claim_receipts(self, limit: int) -> Iterator[IncomingFile]:
        """Claim up to `limit` files; workers start at random places so they rarely collide."""
        self.claim_dir.mkdir(parents=True, exist_ok=True)
        names = sorted(self.waiting())
        start = random.randrange(len(names)) if names else 0
        claimed = 0
        for name in names[start:] + names[:start]:
            if claimed >= limit:
                return
            path = self._claim(name)
            if path is not None:
                claimed += 1
                with open(path, "rb") as handle:
                    yield IncomingFile(name, Path(path), handle.read())

    def done(self, incoming: IncomingFile) -> None:
        """Archive a stored receipt by date; a file already put back by the sweeper is left."""
        self.done_many([incoming])

    def done_many(self, stored: list[IncomingFile]) -> None:
        """Archive stored receipts under today's date (one folder look-up for the batch)."""
        target = self._dated("received")
        target.mkdir(parents=True, exist_ok=True)
        for incoming in stored:
            try:
                _move(str(incoming.path), os.path.join(target, incoming.name))
            except FileNotFoundError:
                continue  # put back by the sweeper meanwhile: it will be read again

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
                try:
                    os.replace(entry.path, self.receive_dir / entry.name)
                except FileNotFoundError:
                    continue  # finished meanwhile
                count += 1
        return count
