"""Scans over HTTP against PostgreSQL: throughput and p50/p99 at a fixed offered load, beside the
database's own single-row commit rate.

The app runs in its own uvicorn process(es) on a throw-away database; this process seeds parcels
with bulk inserts, then plays the scan stations with a lean asyncio HTTP/1.1 client on keep-alive
connections. Requests leave on a fixed schedule (open loop) and latency is measured from the
scheduled time, so a stalled server is not hidden by the client waiting for it.

    python -m bench.scan_bench [--rate 500] [--seconds 5] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select
from sqlmodel import col

from kit import queue
from kit.auth import Role, create_key
from kit.db import dispose_engines, session_scope
from kit.migrate import upgrade
from kit.outbox import utcnow
from kit.settings import get_settings
from warehouses.demo import seed_reference
from warehouses.models import Merchant, Order, Parcel, Warehouse

PG_ADMIN = os.environ.get("CLEARWAY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLEARWAY_BENCH_REDIS", "redis://127.0.0.1:6379/5")
DB_NAME = "clearway_bench_scans_http"
ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
BATCH = 20


@dataclass
class Load:
    """What one run offered and what came back."""

    offered_per_s: float
    sent: int
    seconds: float
    latencies: list[float]
    outcomes: dict[str, int]
    errors: int
    server_cpu_s: float | None = None
    scans_per_request: int = 1

    @property
    def scans(self) -> int:
        return self.sent * self.scans_per_request


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


# --- the throw-away stack ---------------------------------------------------------------------


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def _env(database_url: str, prefix: str) -> dict[str, str]:
    return {
        "CLEARWAY_DATABASE_URL": database_url,
        "CLEARWAY_REDIS_URL": REDIS_URL,
        "CLEARWAY_QUEUE_PREFIX": prefix,
        "CLEARWAY_DATA_DIR": str(ROOT / "var" / "bench" / "scans"),
        "CLEARWAY_EMBEDDED_SIMULATOR": "false",
        # PostgreSQL and Redis make a production set-up, which refuses a weak secret key.
        "CLEARWAY_SECRET_KEY": secrets.token_urlsafe(48),
    }


def _point_here(env: dict[str, str]) -> None:
    os.environ.update(env)
    get_settings.cache_clear()
    dispose_engines()
    queue.reset_connections()


@contextmanager
def scan_stack() -> Iterator[dict[str, str]]:
    """A migrated, seeded PostgreSQL database of its own and a private Redis prefix; both go
    afterwards (a name per run, so two runs never drop each other's database)."""
    saved, run = dict(os.environ), uuid.uuid4().hex[:8]
    name = f"{DB_NAME}_{run}"
    _admin(f'CREATE DATABASE "{name}"')
    env = _env(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", f"bench-scans-{run}")
    try:
        _point_here(env)
        upgrade()
        with session_scope() as session:
            seed_reference(session)
        yield env
    finally:
        redis = queue.get_redis()
        for key in redis.scan_iter(f"{env['CLEARWAY_QUEUE_PREFIX']}:*"):
            redis.delete(key)
        dispose_engines()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _order_row(run: str, i: int, merchant_id: int, warehouse_id: int) -> dict[str, Any]:
    money = Decimal("100.00")
    return {
        "merchant_id": merchant_id,
        "warehouse_id": warehouse_id,
        "order_no": f"{run}O{i:07d}",
        "status": "received",
        "buyer_reg_no": "bench",
        "buyer_name": "张三",
        "buyer_id_number": "11010519491231002X",
        "buyer_phone": "13800138000",
        "consignee_name": "张三",
        "consignee_phone": "13800138000",
        "consignee_address": "浙江省杭州市西湖区文三路1号",
        "goods_value": money,
        "freight": Decimal(0),
        "discount": Decimal(0),
        "tax_total": Decimal(0),
        "actural_paid": money,
        "created_at": utcnow(),
    }


def seed_parcels(count: int, warehouse: str = "HZ") -> list[str]:
    """`count` expected parcels at `warehouse`, bulk-inserted; returns their tracking numbers."""
    run = f"S{uuid.uuid4().hex[:6].upper()}"
    with session_scope() as session:
        wh_id = session.execute(
            select(col(Warehouse.id)).where(col(Warehouse.code) == warehouse)
        ).scalar_one()
        merchant_id = session.execute(select(col(Merchant.id)).limit(1)).scalar_one()
        rows = [_order_row(run, i, merchant_id, wh_id) for i in range(count)]
        ids = session.scalars(insert(Order).returning(col(Order.id)), rows).all()
        parcels = [_parcel_row(run, i, order_id, wh_id) for i, order_id in enumerate(ids)]
        session.execute(insert(Parcel), parcels)
    return [p["tracking_no"] for p in parcels]


def _parcel_row(run: str, i: int, order_id: int | None, wh_id: int | None) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "warehouse_id": wh_id,
        "tracking_no": f"{run}T{i:07d}",
        "waybill_no": f"{run}W{i:07d}",
        "expected_weight_kg": Decimal("1.0"),
        "floor_state": "expected",
        "customs_state": "none",
    }


def staff_key(warehouse: str = "HZ") -> str:
    with session_scope() as session:
        _, raw = create_key(
            session, label="bench-scanner", role=Role.staff, warehouse_codes=(warehouse,)
        )
    return raw


# --- the app under test -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def app_server(env: dict[str, str], workers: int) -> Iterator[tuple[int, int]]:
    """uvicorn (uvloop + httptools) serving the app in its own process(es)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        _wait_up(port, server)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(20)


def _wait_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the app server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the app server did not start")


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds used so far by a process and its children (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_s(int(child)) or 0.0 for child in children)


# --- the scanners -----------------------------------------------------------------------------


def _scan(code: str, station: str) -> dict[str, str]:
    return {"warehouse": "HZ", "station": station, "code": code, "client_scan_id": code}


def scan_request(port: int, key: str, code: str, station: str) -> bytes:
    return _post(port, key, "/api/v1/scans", _scan(code, station))


def batch_request(port: int, key: str, codes: list[str], station: str) -> bytes:
    scans = [_scan(code, station) for code in codes]
    return _post(port, key, "/api/v1/scans/batch", {"scans": scans})


def _post(port: int, key: str, path: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


def _outcomes(status: int, body: bytes) -> list[str]:
    if status != 200:
        return [f"http_{status}"]
    answer = json.loads(body)
    return [str(one.get("outcome", "?")) for one in answer.get("results", [answer])]


async def _drive(port: int, requests: list[bytes], rate: float | None) -> Load:
    """Send every request, on a fixed schedule when `rate` is set, else as fast as possible."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    errors = 0

    async def one(request: bytes, due: float | None) -> None:
        nonlocal errors
        connection = await pool.get()
        due = due or time.perf_counter()  # closed loop: time from the moment it could be sent
        try:
            status, body = await _exchange(*connection, request)
            latencies.append(time.perf_counter() - due)
            for name in _outcomes(status, body):
                outcomes[name] = outcomes.get(name, 0) + 1
            pool.put_nowait(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    started = time.perf_counter()
    tasks = []
    for i, request in enumerate(requests):
        due = started + i / rate if rate else None
        if due is not None and due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait()[1].close()
    return Load(rate or 0.0, len(requests), seconds, latencies, outcomes, errors)


def drive(port: int, requests: list[bytes], rate: float | None, pid: int | None = None) -> Load:
    """Run the load; with the server's `pid`, also count the CPU its processes spent on it."""
    before = tree_cpu_s(pid) if pid else None
    load = asyncio.run(_drive(port, requests, rate))
    after = tree_cpu_s(pid) if pid else None
    if before is not None and after is not None:
        load.server_cpu_s = after - before
    return load


# --- the floor --------------------------------------------------------------------------------


def single_row_commits(database_url: str, seconds: float = 2.0) -> float:
    """The database's own rate of one-row INSERT + COMMIT on one connection (the scan's shape)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit (id serial, code text)")
        conn.commit()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            conn.execute("INSERT INTO bench_commit (code) VALUES (%s)", (f"c{done}",))
            conn.commit()
            done += 1
        return done / (time.perf_counter() - started)


# --- the report -------------------------------------------------------------------------------


def _figure(runs: list[Load]) -> dict[str, Any]:
    rates = [run.scans / run.seconds for run in runs]
    latencies = [lat for run in runs for lat in run.latencies]
    outcomes: dict[str, int] = {}
    for run in runs:
        for name, n in run.outcomes.items():
            outcomes[name] = outcomes.get(name, 0) + n
    median = statistics.median(rates)
    return {
        "median_per_s": median,
        "spread": (max(rates) - min(rates)) / median if median else 0.0,
        "unit": "scans/s",
        "runs": [round(r, 1) for r in rates],
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "outcomes": outcomes,
        "errors": sum(run.errors for run in runs),
        "server_cpu_ms_per_scan": _cpu_per_scan(runs),
    } | ({"offered_per_s": runs[0].offered_per_s} if runs[0].offered_per_s else {})


def _cpu_per_scan(runs: list[Load]) -> float | None:
    spent = [run.server_cpu_s for run in runs]
    if any(cpu is None for cpu in spent):
        return None
    return 1000 * sum(cpu or 0.0 for cpu in spent) / sum(run.scans for run in runs)


def _requests(port: int, key: str, count: int, station: str) -> list[bytes]:
    return [scan_request(port, key, code, station) for code in seed_parcels(count)]


def _batches(port: int, key: str, count: int, station: str) -> list[bytes]:
    codes = seed_parcels(count)
    return [batch_request(port, key, codes[i : i + BATCH], station) for i in range(0, count, BATCH)]


def _batch_run(port: int, pid: int, key: str, count: int, station: str) -> Load:
    load = drive(port, _batches(port, key, count, station), None, pid)
    load.scans_per_request = BATCH
    return load


def run(
    repeat: int = 3,
    scale: float = 1.0,
    rate: float = 500.0,
    seconds: float = 5.0,
    workers: int = 2,
) -> dict[str, dict[str, Any]]:
    """Scans/s and p50/p99 at `rate` offered, the closed-loop maximum, and the commit floor."""
    count = max(50, int(rate * seconds * scale))
    with scan_stack() as env:
        key = staff_key()
        floor = single_row_commits(env["CLEARWAY_DATABASE_URL"])
        with app_server(env, workers) as (port, pid):
            drive(port, _requests(port, key, 200, "warm-up"), None)
            offered = [
                drive(port, _requests(port, key, count, f"in-{i}"), rate, pid)
                for i in range(repeat)
            ]
            closed = [
                drive(port, _requests(port, key, count, f"max-{i}"), None, pid)
                for i in range(repeat)
            ]
            batched = [_batch_run(port, pid, key, count, f"batch-{i}") for i in range(repeat)]
    results = {
        f"scan over HTTP at {rate:.0f}/s offered": _figure(offered),
        f"scan over HTTP, closed loop ({CONNECTIONS} conns)": _figure(closed),
        f"scans in batches of {BATCH} (offline upload), closed loop": _figure(batched),
        "PostgreSQL single-row commit floor": {
            "median_per_s": floor,
            "unit": "commits/s",
            "x_floor": 1.0,
        },
    }
    for name in list(results)[:3]:
        results[name]["note"] = f"{workers} uvicorn worker(s)"
    # At a fixed offered load the rate carried is the rate offered, so only the closed-loop
    # runs say how far a scan is from the commit floor.
    for name in list(results)[1:3]:
        results[name]["x_floor"] = floor / results[name]["median_per_s"]
    first = next(iter(results))
    results[first]["note"] += "; carries what is offered, so its ratio is the closed loop's"
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="offered scans per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.repeat, 1.0, args.rate, args.seconds, args.workers)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for name, row in results.items():
        shown = ("p50_ms", "p99_ms", "server_cpu_ms_per_scan", "outcomes", "errors")
        extra = {k: row[k] for k in shown if k in row}
        print(f"{name:48s} {row['median_per_s']:9.1f} {row['unit']:10s} {extra}")


if __name__ == "__main__":
    main()
