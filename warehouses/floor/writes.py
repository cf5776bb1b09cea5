"""How floor writes reach the database: SQLite's single writer, and scans committed in groups."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kit.auth import Principal
from kit.errors import Conflict
from kit.groupcommit import GroupCommit
from kit.settings import get_settings
from warehouses.floor.scanning import scan
from warehouses.schemas import ScanIn, ScanOut

# SQLite has one writer: the floor's writes in this process take turns here, and one kept
# waiting too long is told "busy" instead of failing on "database is locked".
sqlite_writer = threading.Lock()
BUSY_AFTER_S = 5.0


def busy() -> Conflict:
    return Conflict("busy", "the embedded database is busy — scan again")


@contextmanager
def sqlite_writer_turn() -> Iterator[None]:
    """The scan thread's turn at SQLite's single writer (PostgreSQL needs none)."""
    if not get_settings().is_sqlite:
        yield
        return
    if not sqlite_writer.acquire(timeout=BUSY_AFTER_S):
        raise busy()
    try:
        yield
    finally:
        sqlite_writer.release()


def _scan_one(session: Session, job: tuple[ScanIn, Principal]) -> ScanOut:
    return scan(session, *job)


ScanGroup = GroupCommit[tuple[ScanIn, Principal], ScanOut]
_groups: dict[str, ScanGroup] = {}
_groups_lock = threading.Lock()


def new_scan_group() -> ScanGroup:
    """A group commit of scans. A scan racing the same client scan id in another process loses
    on the unique constraint, raised by SQLAlchemy or, from a hot statement run on the driver's
    own cursor, by psycopg itself: it is rolled back and run again, and answered as the
    winner's replay."""
    return GroupCommit(
        _scan_one, guard=sqlite_writer_turn, retry_on=(IntegrityError, psycopg.IntegrityError)
    )


def scan_group(warehouse: str) -> ScanGroup:
    """The group commit of one warehouse's scans in this process.

    Scans arriving together (stations at peak) share one transaction on one thread; each
    warehouse has its own, so one floor's round trips never wait behind another's."""
    with _groups_lock:
        if warehouse not in _groups:
            _groups[warehouse] = new_scan_group()
        return _groups[warehouse]


async def grouped_scan(data: ScanIn, principal: Principal) -> ScanOut:
    """Judge one scan in its warehouse's next group commit (POST /scans)."""
    return await scan_group(data.warehouse).run((data, principal))


def grouped_scan_blocking(data: ScanIn, principal: Principal) -> ScanOut:
    """The same for a caller on a thread of its own (the 11.11 simulation's stations)."""
    return scan_group(data.warehouse).call((data, principal))
