"""Printer transports: loopback TCP server, dead printer, CUPS lp, atomic spool, URL factory."""

from __future__ import annotations

import os
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labels import (
    CupsPrinter,
    LabelData,
    PrintError,
    RawTcpPrinter,
    SpoolPrinter,
    printer_from_url,
    render_zpl,
)


class _Capture(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.server.jobs.append(b"".join(chunks))  # type: ignore[attr-defined]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    jobs: list[bytes]


@pytest.fixture
def zebra() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Capture)
    server.jobs = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _wait_jobs(server: _Server, count: int) -> list[bytes]:
    deadline = time.monotonic() + 5
    while len(server.jobs) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.jobs


def test_tcp_printer_receives_exactly_the_zpl(zebra: _Server, label: LabelData) -> None:
    zpl = render_zpl([label, label], cjk="bitmap")
    RawTcpPrinter("127.0.0.1", zebra.server_address[1]).send(zpl, job_name="wave-1")
    assert _wait_jobs(zebra, 1) == [zpl]


def test_concurrent_jobs_to_one_printer_do_not_interleave(zebra: _Server) -> None:
    port = zebra.server_address[1]
    jobs = [bytes([65 + i]) * 200_000 for i in range(4)]
    threads = [
        threading.Thread(
            target=RawTcpPrinter("127.0.0.1", port).send, args=(job,), kwargs={"job_name": f"j{i}"}
        )
        for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(_wait_jobs(zebra, 4)) == sorted(jobs)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_printer_fails_fast_with_reason() -> None:
    printer = RawTcpPrinter("127.0.0.1", _closed_port(), timeout=1.0, retries=2, backoff=0.05)
    with pytest.raises(PrintError) as err:
        printer.send(b"^XA^XZ", job_name="dead")
    assert "unreachable after 3 attempts" in err.value.reason
    assert "dead" in err.value.reason


def test_unroutable_printer_times_out_not_hangs() -> None:
    # TEST-NET-1 (RFC 5737) never answers, so only the timeout can end the attempt.
    printer = RawTcpPrinter("192.0.2.1", 9100, timeout=0.3, retries=1, backoff=0.05)
    with pytest.raises(PrintError) as err:
        printer.send(b"^XA^XZ", job_name="void")
    assert "after 2 attempts" in err.value.reason


def test_spool_printer_writes_whole_files_atomically(tmp_path: Path, label: LabelData) -> None:
    spool = tmp_path / "spool"
    zpl = render_zpl([label], cjk="resident")
    SpoolPrinter(spool).send(zpl, job_name="order 42/parcel#1")
    SpoolPrinter(spool).send(b"%PDF-1.4 fake", job_name="order-43")
    files = sorted(p.name for p in spool.iterdir())
    assert len(files) == 2
    assert not any(name.startswith(".") or name.endswith(".tmp") for name in files)
    zpl_file = next(spool.glob("order_42_parcel_1-*.zpl"))
    assert zpl_file.read_bytes() == zpl
    assert next(spool.glob("order-43-*.pdf")).read_bytes() == b"%PDF-1.4 fake"


def test_spool_printer_leaves_no_partial_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PrintError, match="No space left"):
        SpoolPrinter(tmp_path).send(b"^XA^XZ", job_name="full")
    assert list(tmp_path.iterdir()) == []


def test_cups_printer_runs_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_lp = tmp_path / "lp"
    fake_lp.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/data\n')
    fake_lp.chmod(fake_lp.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    CupsPrinter("zebra_raw", options=["raw"]).send(b"^XA^XZ", job_name="w1")
    assert (tmp_path / "args").read_text().split() == ["-d", "zebra_raw", "-t", "w1", "-o", "raw"]
    assert (tmp_path / "data").read_bytes() == b"^XA^XZ"


def test_cups_failure_is_a_print_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_lp = tmp_path / "lp"
    fake_lp.write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    fake_lp.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrintError, match="does not exist"):
        CupsPrinter("nope").send(b"x", job_name="j")


def test_printer_from_url() -> None:
    tcp = printer_from_url("tcp://10.0.0.7:9101?timeout=2&retries=0")
    assert isinstance(tcp, RawTcpPrinter)
    assert (tcp.host, tcp.port, tcp.timeout, tcp.retries) == ("10.0.0.7", 9101, 2.0, 0)
    default_port = printer_from_url("tcp://zebra-gz-01")
    assert isinstance(default_port, RawTcpPrinter)
    assert default_port.port == 9100
    cups = printer_from_url("cups://Zebra_GZ?option=raw")
    assert isinstance(cups, CupsPrinter)
    assert (cups.queue_name, cups.options) == ("Zebra_GZ", ("raw",))
    spool = printer_from_url("spool:///var/spool/clearway")
    assert isinstance(spool, SpoolPrinter)
    assert spool.directory == Path("/var/spool/clearway")
    with pytest.raises(ValueError, match="unsupported"):
        printer_from_url("ipp://printer")


def test_printer_that_stops_reading_times_out_midway() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # never accepted, never read: the kernel buffers fill up
        printer = RawTcpPrinter("127.0.0.1", listener.getsockname()[1], timeout=0.5, retries=0)
        # Without the per-write timeout this send would block for ever; the message proves the
        # timeout, not the clock (timing belongs in bench/).
        with pytest.raises(PrintError, match="failed midway \\(timed out\\)"):
            printer.send(b"^XA" + b"0" * 64_000_000 + b"^XZ", job_name="stuck")
