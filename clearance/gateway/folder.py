"""The China E-Port transfer client's folder exchange: write into its send folder, read receipts
from its receive folder, archive both by date under DATA_DIR for audit."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import random
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from clearance.gateway.port import IncomingFile, OutgoingMessage
from declarations import envelope
from declarations.fmt import china_now, return_time

log = logging.getLogger(__name__)
HEARTBEAT = ".heartbeat"
SEEN = ".seen"
REASON = ".reason.txt"
# OS errors that pass by themselves (a disk or quota that frees up, a busy or flaky device, a
# process out of descriptors): the message waits and is retried, it has not failed.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
        errno.ETIMEDOUT,
    }
)
_IDENTITY: dict[int, str] = {}


def is_transient(exc: OSError) -> bool:
    """Whether the disk or the OS may well accept the same write a little later."""
    return exc.errno in TRANSIENT_ERRNOS


def claimer_id() -> str:
    """This process's name as a claimer: host, pid and a token, so a reused pid is not mistaken
    for the dead process that had it (a forked child gets its own)."""
    pid = os.getpid()
    if pid not in _IDENTITY:
        _IDENTITY[pid] = f"{socket.gethostname()}-{pid}-{secrets.token_hex(3)}"
    return _IDENTITY[pid]


class PartlySent(OSError):
    """The disk refused a batch midway through the renames: `sent` is in the send folder."""

    def __init__(self, cause: OSError, sent: list[str]) -> None:
        super().__init__(cause.errno, cause.strerror, cause.filename)
        self.sent = sent


def _write_file(path: Path, data: bytes, *, durable: bool) -> None:
    """The one place file contents reach the OS (a full disk shows up here)."""
    with open(path, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(paths: Iterable[Path]) -> None:
    """Remove what a failed write left behind, so no temp file outlives its attempt."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _temp_of(directory: Path, name: str) -> Path:
    return directory / f".{name}.tmp"


def atomic_write(directory: Path, name: str, data: bytes, *, durable: bool = True) -> Path:
    """Write via a hidden temp file then rename, so the transfer client never sees half a file;
    the temp file is removed whatever goes wrong."""
    directory.mkdir(parents=True, exist_ok=True)
    temp = _temp_of(directory, name)
    try:
        _write_file(temp, data, durable=durable)
        os.replace(temp, directory / name)
    except BaseException:
        _discard([temp])
        raise
    return directory / name


def atomic_write_many(files: list[tuple[Path, str, bytes]]) -> None:
    """Many atomic writes with one wait for the disk: every temp file is written, then each is
    fsynced (the first fsync commits the journal for all of them), then each is renamed."""
    temps = [_temp_of(directory, name) for directory, name, _ in files]
    try:
        _write_temps(temps, [data for _, _, data in files])
        for temp, (directory, name, _) in zip(temps, files, strict=True):
            os.replace(temp, directory / name)
    except BaseException:
        _discard(temps)
        raise


def _write_temps(temps: list[Path], contents: list[bytes]) -> None:
    for directory in {temp.parent for temp in temps}:
        directory.mkdir(parents=True, exist_ok=True)
    for temp, data in zip(temps, contents, strict=True):
        _write_file(temp, data, durable=False)
    for temp in temps:
        _fsync(temp)


def _archive_copy(source: Path, archived: Path, data: bytes) -> Path | None:
    """The archive's copy of a file about to be sent: a hard link to the same (already fsynced)
    inode, which the transfer client's removal leaves intact; a durable copy across file
    systems. The path it created, or None when it was there already."""
    try:
        os.link(source, archived)
    except FileExistsError:
        return None
    except OSError:
        atomic_write(archived.parent, archived.name, data)
    return archived


def _move(source: str, target: str) -> None:
    """A rename where possible; a copy across file systems (archive on another disk)."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(source, target)


def _stamp() -> str:
    """The file name's time, on the customs clock like the receipts' returnTime."""
    return return_time(china_now())


def _settled(entry: os.DirEntry[str], now: float, settle_s: float) -> bool:
    """Untouched for settle_s: ctime moves on every write and rename and cannot be set back, so
    a file still being written (or just renamed in) is not yet taken."""
    if settle_s <= 0:
        return True
    try:
        status = entry.stat()
    except FileNotFoundError:
        return False  # claimed by another worker meanwhile
    return now - max(status.st_mtime, status.st_ctime) >= settle_s


class _Heartbeat:
    """Touches the owner's heartbeat file every `every_s` on its own thread while claims are
    held, so a long transaction never looks like a dead worker."""

    def __init__(self, path: Path, every_s: float) -> None:
        self.path, self.every_s = path, every_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="claim-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.path.touch()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                os.utime(self.path)
            except OSError as exc:
                log.warning("claim heartbeat %s not refreshed: %s", self.path, exc)


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
        self._receive_dir = str(receive_dir)
        self.owner_dir = self.claim_dir / claimer_id()

    def send(self, message: OutgoingMessage) -> str:
        return self.send_many([message])[0]

    def send_many(self, messages: list[OutgoingMessage]) -> list[str]:
        """Send a batch with one wait for the disk. The archive copies are made before anything
        reaches the send folder, so a full archive sends nothing; any failure leaves no temp
        file and no archive copy behind (PartlySent names what made it when renames stop)."""
        named = [self._named(message) for message in messages]
        temps = [_temp_of(self.send_dir, name) for name, _ in named]
        archived: list[Path] = []
        try:
            _write_temps(temps, [data for _, data in named])
            archived = self._archive_all(temps, named)
        except BaseException:
            _discard(temps + archived)
            raise
        return self._publish(temps, [name for name, _ in named], archived)

    def _archive_all(self, temps: list[Path], named: list[tuple[str, bytes]]) -> list[Path]:
        archive = self._dated("sent")
        archive.mkdir(parents=True, exist_ok=True)
        made: list[Path] = []
        try:
            for temp, (name, data) in zip(temps, named, strict=True):
                copy = _archive_copy(temp, archive / name, data)
                made += [copy] if copy else []
        except BaseException:
            _discard(made)
            raise
        return made

    def _publish(self, temps: list[Path], names: list[str], archived: list[Path]) -> list[str]:
        """Rename each temp file to its name, the moment the transfer client may take it."""
        for index, (temp, name) in enumerate(zip(temps, names, strict=True)):
            try:
                os.replace(temp, self.send_dir / name)
            except OSError as exc:
                unsent = set(names[index:])
                _discard(temps[index:] + [a for a in archived if a.name in unsent])
                raise PartlySent(exc, names[:index]) from exc
        return names

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
        # By Beijing date, as the E-Port transfer client files them, whatever the host's zone.
        return self.archive_dir / kind / china_now().strftime("%Y%m%d")

    def _claim(self, name: str) -> str | None:
        target = os.path.join(self.owner_dir, name)
        try:
            os.rename(os.path.join(self._receive_dir, name), target)
        except FileNotFoundError:
            return None  # another worker claimed it first
        return target

    def waiting(self) -> list[str]:
        """Names of the receipt files waiting in the receive folder."""
        return self._waiting(0.0)

    def _waiting(self, settle_s: float) -> list[str]:
        if not self.receive_dir.exists():
            return []
        now = time.time()
        with os.scandir(self.receive_dir) as entries:
            return [
                e.name
                for e in entries
                if not e.name.startswith(".") and e.is_file() and _settled(e, now, settle_s)
            ]

    @contextlib.contextmanager
    def claiming(self, heartbeat_s: float) -> Iterator[None]:
        """Hold claims under this process's own folder with a live heartbeat; whatever is still
        claimed on the way out (a database error, any exception) goes back at once."""
        self.owner_dir.mkdir(parents=True, exist_ok=True)
        heartbeat = self.owner_dir / HEARTBEAT
        try:
            with _Heartbeat(heartbeat, heartbeat_s):
                yield
        finally:
            self._put_back_all(self.owner_dir)
            _discard([heartbeat])
            with contextlib.suppress(FileNotFoundError):
                self.owner_dir.rmdir()

    def claim_receipts(self, limit: int, settle_s: float = 0.0) -> Iterator[IncomingFile]:
        """Claim up to `limit` files untouched for `settle_s`; workers start at random places so
        they rarely collide. Call inside `claiming`, whose heartbeat keeps the claims."""
        self.owner_dir.mkdir(parents=True, exist_ok=True)
        names = sorted(self._waiting(settle_s))
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
        self._forget([incoming.name for incoming in stored])

    def failed(self, incoming: IncomingFile, reason: str) -> None:
        self.error_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(incoming.path, self.error_dir / incoming.name)
        (self.error_dir / _reason_name(incoming.name)).write_text(reason, encoding="utf-8")
        self._forget([incoming.name])

    def unreadable(self, incoming: IncomingFile, reason: str, grace_s: float) -> bool:
        """A file that does not parse may still be being written: put it back until `grace_s`
        after it was first seen unreadable, then set it aside. Whether it was set aside."""
        marker = self.claim_dir / SEEN / incoming.name
        try:
            first_seen = marker.stat().st_mtime
        except FileNotFoundError:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            first_seen = time.time()
        if time.time() - first_seen < grace_s:
            self.put_back(incoming)
            return False
        self.failed(incoming, reason)
        return True

    def _forget(self, names: list[str]) -> None:
        """Drop the first-seen markers of files that reached an end (one look-up per batch)."""
        seen = self.claim_dir / SEEN
        if seen.exists():
            _discard(seen / name for name in names)

    def put_back(self, incoming: IncomingFile) -> None:
        """Return a claimed file to the receive folder to be read again."""
        with contextlib.suppress(FileNotFoundError):  # finished or released meanwhile
            os.replace(incoming.path, self.receive_dir / incoming.name)

    def _put_back_all(self, folder: Path) -> int:
        if not folder.exists():
            return 0  # released by the sweeper already
        count = 0
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.replace(entry.path, self.receive_dir / entry.name)
                    count += 1
        return count

    def release_dead_claims(self, dead_after_s: float) -> int:
        """Put back files whose claimer stopped beating for `dead_after_s` (killed, frozen)."""
        if not self.claim_dir.exists():
            return 0
        now, count = time.time(), 0
        with os.scandir(self.claim_dir) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir() and _owner_dead(Path(entry.path), now, dead_after_s):
                    count += self._bury(Path(entry.path))
                elif entry.is_file() and _older(Path(entry.path), now, dead_after_s):
                    count += self._put_back_loose(entry.name)  # claimed before owner folders
        return count

    def _put_back_loose(self, name: str) -> int:
        try:
            os.replace(self.claim_dir / name, self.receive_dir / name)
        except FileNotFoundError:
            return 0
        return 1

    def _bury(self, owner: Path) -> int:
        """Put back a dead claimer's files and remove its folder."""
        count = self._put_back_all(owner)
        _discard([owner / HEARTBEAT])
        try:
            owner.rmdir()
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY):
                raise
        return count


def _reason_name(name: str) -> str:
    """`<name>.reason.txt`, shortened with a digest when that would pass the file-name limit."""
    if len((name + REASON).encode()) <= 255:
        return name + REASON
    return name[:150] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16] + REASON


def _older(path: Path, now: float, age_s: float) -> bool:
    try:
        return now - path.stat().st_mtime > age_s
    except FileNotFoundError:
        return False


def _owner_dead(owner: Path, now: float, dead_after_s: float) -> bool:
    """No heartbeat for dead_after_s; a folder without one yet is judged by its own age."""
    heartbeat = owner / HEARTBEAT
    if heartbeat.exists():
        return _older(heartbeat, now, dead_after_s)
    return _older(owner, now, dead_after_s)
