"""Faults at the folder exchange that heal by themselves: a worker killed with SIGKILL while it
holds claimed receipts, a database error mid-batch, a receipt written in pieces, a send or
archive folder whose disk fills up and frees again. Each test states its recovery bound."""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from app import create_app
from clearance.gateway import folder
from clearance.gateway.exchange import gateway
from clearance.pipeline import jobs
from clearance.pipeline.jobs import ingest_batch, ingest_receipts
from clearance.pipeline.models import ClearanceCase, CustomsMessage, Receipt
from clearance.pipeline.send_stage import retry_delay
from clearance.pipeline.wiring import ticker, wire
from clearance.simulator.loadgen import (
    expected_states,
    receipts_for,
    seed_submitted_cases,
    write_receipts,
)
from declarations.receipts import build_ceb622
from kit.db import session_scope
from kit.queue import EmbeddedWorker
from kit.settings import get_settings
from tests.clearance.test_batched_stages import _matched
from tests.clearance.test_ingest import final_states
from tests.clearance.workers_harness import start_workers, stop_workers
from tests.conftest import Stack, production_stack
from tests.factories import api_key, auth

RECOVERY_S = 30  # generous: the claimer is dead after 3 s, the sweeper runs every second


def _stored() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def _wait(check: Callable[[], bool], what: str, timeout: float = 60) -> float:
    """Seconds until `check` held; fails naming `what` after `timeout`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def _files_under(top: Path) -> list[Path]:
    """Files below `top`; os.walk passes over folders removed while it walks (a claimer's)."""
    return [Path(root, name) for root, _, names in os.walk(top) for name in names]


def _claims_left() -> list[Path]:
    return _files_under(gateway().claim_dir)


@pytest.fixture
def production(request, monkeypatch, tmp_path) -> Iterator[Stack]:
    settings = {"CLAIM_DEAD_AFTER_S": "3", "RECEIPT_BATCH": "50", "SWEEP_INTERVAL_S": "1"}
    yield from production_stack(request, monkeypatch, tmp_path, settings)


@pytest.mark.slow
@pytest.mark.production
def test_claims_of_a_worker_killed_mid_ingest_are_back_within_the_bound(
    production: Stack,
) -> None:
    with session_scope() as session:
        receipts = receipts_for(seed_submitted_cases(session, 260))
    write_receipts(gateway().receive_dir, receipts)
    workers = start_workers(2)
    try:
        _wait(lambda: _stored() >= len(receipts) // 4, "a quarter stored")
        os.kill(workers[1].pid, signal.SIGKILL)
        at_kill = _stored()
        took = _wait(
            lambda: _stored() >= len(receipts) and not _claims_left(),
            "every receipt stored after the kill",
            timeout=RECOVERY_S,
        )
    finally:
        stop_workers(workers)
    assert at_kill < len(receipts), "the kill must land mid-run"
    assert len(receipts) - _stored() == 0 and took <= RECOVERY_S
    assert final_states() == expected_states(receipts)


def test_a_database_error_puts_the_claimed_files_back_at_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        receipts = receipts_for(seed_submitted_cases(session, 3))
    exchange = gateway()
    write_receipts(exchange.receive_dir, receipts)

    def database_gone(*_: object) -> dict[str, int]:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(jobs, "ingest_files", database_gone)
    with pytest.raises(OperationalError):
        ingest_batch(exchange, 100, Counter())
    assert len(exchange.waiting()) == len(receipts) and not _claims_left()
    assert not exchange.error_dir.exists()
    monkeypatch.undo()
    # The files went back, not aside: the next poll stores every one of them.
    monkeypatch.setenv("CLEARWAY_RECEIPT_SETTLE_S", "0")
    assert sum(ingest_receipts().values()) == len(receipts) == _stored()


def _poll_until(check: Callable[[], bool], timeout: float) -> None:
    """Run the ingest job as the ticker would, every 0.1 s, until `check` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        ingest_receipts()
        time.sleep(0.1)


def test_a_receipt_written_in_two_pieces_is_applied(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_RECEIPT_SETTLE_S", "1")
    monkeypatch.setenv("CLEARWAY_UNREADABLE_GRACE_S", "60")
    with session_scope() as session:
        receipts = receipts_for(seed_submitted_cases(session, 1))[:1]
    data = build_ceb622(receipts, guid=str(uuid.uuid4()))
    receive = gateway().receive_dir
    receive.mkdir(parents=True, exist_ok=True)
    path = receive / "CEB622_slow.xml"

    def write_slowly() -> None:
        with open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            time.sleep(1.5)
            handle.write(data[len(data) // 2 :])

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        _poll_until(lambda: _stored() == 1, timeout=30)
    finally:
        writer.join()
    assert final_states() == expected_states(receipts)
    assert not gateway().error_dir.exists() and not gateway().waiting()


def test_a_truly_malformed_receipt_is_set_aside_after_the_grace(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_UNREADABLE_GRACE_S", "1")
    exchange = gateway()
    exchange.receive_dir.mkdir(parents=True, exist_ok=True)
    (exchange.receive_dir / "broken.xml").write_bytes(b"<CEB622Message><never-closed")
    first = time.monotonic()
    assert ingest_receipts() == {"retrying": 1}
    assert exchange.waiting() == ["broken.xml"], "kept for another read within the grace"
    _poll_until(lambda: (exchange.error_dir / "broken.xml").exists(), timeout=30)
    assert time.monotonic() - first >= 1
    assert (exchange.error_dir / "broken.xml.reason.txt").read_text().startswith("xml_malformed")
    assert not exchange.waiting() and not _claims_left()


class Disk:
    """A disk under one folder that holds at most `capacity` files (None: no limit). A write
    beyond it fails as a full disk does: the file is created, then ENOSPC."""

    def __init__(self, under: Path) -> None:
        self.under = under
        self.capacity: int | None = 0
        self.real = folder._write_file

    def write(self, path: Path, data: bytes, *, durable: bool) -> None:
        if path.is_relative_to(self.under) and self.capacity is not None:
            if _files(self.under) >= self.capacity:
                path.touch()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        self.real(path, data, durable=durable)


def _files(under: Path) -> int:
    return len(_files_under(under))


def _transport() -> Counter[str]:
    with session_scope() as session:
        return Counter(session.scalars(select(col(CustomsMessage.transport_state))))


def _temps() -> list[Path]:
    return [p for p in _files_under(get_settings().data_dir) if p.name.endswith(".tmp")]


def _full_folder(kind: str, monkeypatch: pytest.MonkeyPatch) -> Disk:
    settings = get_settings()
    if kind == "send":
        disk = Disk(settings.send_dir)
    else:
        disk = Disk(settings.archive_dir / "sent")

        def other_disk(*_: object) -> None:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

        monkeypatch.setattr(folder.os, "link", other_disk)  # the archive is on its own disk
    monkeypatch.setattr(folder, "_write_file", disk.write)
    return disk


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["send", "archive"])
def test_a_full_folder_that_frees_up_sends_everything_once_by_itself(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    for key, value in {
        "SWEEP_INTERVAL_S": "0.5",
        "SEND_RETRY_S": "0.2",
        "SEND_RETRY_MAX_S": "1",
    }.items():
        monkeypatch.setenv(f"CLEARWAY_{key}", value)
    get_settings.cache_clear()
    disk = _full_folder(kind, monkeypatch)
    wire()
    order_nos = _matched(40)
    stops = [EmbeddedWorker().start().stop, ticker().start().stop]
    try:
        _wait(lambda: _transport() == {"waiting": 40}, "every message waiting for the disk")
        assert _temps() == [] and _files(get_settings().send_dir) == 0
        _shows_waiting_for_disk(40)
        disk.capacity = 13  # a little space: batches shrink to what fits
        _wait(lambda: _transport() == {"written": 13, "waiting": 27}, "13 sent, 27 waiting")
        disk.capacity = None
        took = _wait(lambda: _transport() == {"written": 40}, "every message sent", RECOVERY_S)
    finally:
        for stop in stops:
            stop()
    assert took <= RECOVERY_S and _temps() == []
    _each_sent_once(order_nos)


def _shows_waiting_for_disk(count: int) -> None:
    """The broker's exceptions page (and its API) count the waiting messages and say why."""
    admin = api_key()
    with TestClient(create_app(background=False)) as client:
        groups = client.get("/api/v1/broker/exceptions", headers=auth(admin)).json()
        page = client.get("/broker/exceptions", headers=auth(admin)).text
    waiting = next(g for g in groups if g["key"] == "waiting_for_disk")
    assert waiting["count"] == count and waiting["note"].startswith("ENOSPC")
    assert {r["reason"].split(":")[0] for r in waiting["rows"]} == {"ENOSPC"}
    assert f'等待磁盘空间 <span class="num">({count})' in page and "No space left" in page


def _each_sent_once(order_nos: list[str]) -> None:
    settings = get_settings()
    sent = [p.name for p in settings.send_dir.glob("CEB621_*.xml")]
    archived = [p.name for p in (settings.archive_dir / "sent").rglob("CEB621_*.xml")]
    with session_scope() as session:
        cop_nos = set(session.scalars(select(col(ClearanceCase.cop_no))))
        states = set(session.scalars(select(col(ClearanceCase.state))))
    assert len(cop_nos) == len(order_nos) and states == {"submitted"}
    for names in (sent, archived):
        assert Counter(name.split("_")[1] for name in names) == dict.fromkeys(cop_nos, 1)


def test_the_retry_delay_doubles_up_to_its_cap() -> None:
    assert [retry_delay(n, 5, 60) for n in (1, 2, 3, 4, 5, 50)] == [5, 10, 20, 40, 60, 60]
