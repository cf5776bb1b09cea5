"""Printer transports behind one small interface: raw TCP 9100, CUPS ``lp``, atomic spool files."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class PrintError(Exception):
    """A job did not reach the printer; ``reason`` says why in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Printer(Protocol):
    """Anything that takes finished label bytes (PDF or ZPL) and delivers them."""

    def send(self, data: bytes, *, job_name: str) -> None: ...


_ADDRESS_LOCKS: dict[tuple[str, int], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _address_lock(host: str, port: int) -> threading.Lock:
    """One lock per printer address so two jobs never interleave on one print head."""
    with _LOCKS_GUARD:
        return _ADDRESS_LOCKS.setdefault((host.lower(), port), threading.Lock())


class RawTcpPrinter:
    """Raw socket printing (JetDirect/port 9100), the way Zebra printers take ZPL."""

    def __init__(
        self,
        host: str,
        port: int = 9100,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.host, self.port = host, port
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def __repr__(self) -> str:
        return f"RawTcpPrinter({self.host!r}, {self.port})"

    def send(self, data: bytes, *, job_name: str) -> None:
        with _address_lock(self.host, self.port):
            sock = self._connect(job_name)
            try:
                self._write(sock, data, job_name)
            finally:
                sock.close()

    def _connect(self, job_name: str) -> socket.socket:
        """Connect with retries; only this phase is retried, as nothing has printed yet."""
        error: OSError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                error = exc
        raise PrintError(
            f"job {job_name!r}: printer {self.host}:{self.port} unreachable after "
            f"{self.retries + 1} attempts ({_describe(error)})"
        )

    def _write(self, sock: socket.socket, data: bytes, job_name: str) -> None:
        # A failure here is not retried: part of the job may already be on the printer,
        # and re-sending would print duplicate labels.
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise PrintError(
                f"job {job_name!r}: sending to {self.host}:{self.port} failed midway "
                f"({_describe(exc)}); check the printer before re-printing"
            ) from exc


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or "error"


class CupsPrinter:
    """A CUPS queue via the ``lp`` client (PDF to a driver queue, or ZPL to a raw queue)."""

    def __init__(self, queue_name: str, options: Sequence[str] = (), timeout: float = 30.0) -> None:
        self.queue_name, self.options, self.timeout = queue_name, tuple(options), timeout

    def __repr__(self) -> str:
        return f"CupsPrinter({self.queue_name!r})"

    def send(self, data: bytes, *, job_name: str) -> None:
        lp = shutil.which("lp")
        if lp is None:
            raise PrintError("the CUPS client 'lp' is not installed (Debian package cups-client)")
        cmd = [lp, "-d", self.queue_name, "-t", job_name]
        for option in self.options:
            cmd += ["-o", option]
        try:
            done = subprocess.run(cmd, input=data, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise PrintError(f"job {job_name!r}: lp timed out after {self.timeout}s") from exc
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            raise PrintError(f"job {job_name!r}: lp -d {self.queue_name} failed: {detail}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _suffix(data: bytes) -> str:
    head = data[:16].lstrip()
    if head.startswith(b"%PDF"):
        return ".pdf"
    return ".zpl" if head.startswith((b"^XA", b"~")) else ".bin"


class SpoolPrinter:
    """Writes each job as a file; readers never see a partial one (temp file + rename)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"SpoolPrinter({str(self.directory)!r})"

    def send(self, data: bytes, *, job_name: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._write(data, job_name)
        except OSError as exc:
            raise PrintError(f"job {job_name!r}: cannot spool to {self.directory}: {exc}") from exc

    def _write(self, data: bytes, job_name: str) -> Path:
        stem = _UNSAFE.sub("_", job_name).strip("._")[:80] or "job"
        final = self.directory / f"{stem}-{uuid.uuid4().hex[:12]}{_suffix(data)}"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".spool-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final


def printer_from_url(url: str) -> Printer:
    """``tcp://host:9100[?timeout=5&retries=2]``, ``cups://queue[?option=raw]``, ``spool:///dir``."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme == "tcp" and parts.hostname:
        return RawTcpPrinter(
            parts.hostname,
            parts.port or 9100,
            timeout=float(query.get("timeout", ["5"])[0]),
            retries=int(query.get("retries", ["2"])[0]),
        )
    if parts.scheme == "cups" and parts.netloc:
        return CupsPrinter(unquote(parts.netloc), options=query.get("option", []))
    if parts.scheme == "spool" and parts.path:
        return SpoolPrinter(unquote(parts.path))
    raise ValueError(f"unsupported printer URL {url!r}: use tcp://, cups:// or spool:///")
