"""The 11.11 simulation: a Singles' Day wave of orders through intake, scans, customs, labels and
the gate, with the pipeline in `clearway worker` processes, timed stage by stage."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select
from sqlmodel import col

from bench.eleven_report import Marks, build_report, open_work, render
from bench.memory import MemorySampler
from clearance.broker.autofix import fix_and_resubmit, rejected_cases
from clearance.pipeline.models import ClearanceCase
from clearance.pipeline.wiring import ticker, wire
from clearance.printing.labeling import labels_for_orders
from clearance.simulator.customs import CustomsSimulator, Rates
from kit.auth import SYSTEM
from kit.db import session_scope
from kit.migrate import upgrade
from kit.outbox import Event
from kit.queue import QUEUE_NAMES, EmbeddedWorker
from kit.settings import get_settings
from labels import SpoolPrinter, render_zpl
from warehouses.demo import demo_order, seed_reference
from warehouses.floor.demo_floor import DEMO_STAFF
from warehouses.floor.scanning import scan_many
from warehouses.floor.writes import grouped_scan_blocking
from warehouses.intake.batch import take_all
from warehouses.models import Order, Parcel, Scan
from warehouses.profiles import WAREHOUSE_CODES
from warehouses.schemas import ScanIn

ROOT = Path(__file__).resolve().parents[1]
INTAKE_BATCH = 1000
# Later stages first (kit.queue.QUEUE_NAMES): a worker takes from the first non-empty queue, so
# in creation order a backlog of declare jobs starves submit and ingest and nothing reaches
# release until the scanning stops (seen at 2,000 orders: 446 declare jobs queued, 0 submitted).
DRAIN_FIRST = QUEUE_NAMES
GATE_BATCH = 500
FIXER = "broker:eleven"


@dataclass
class Plan:
    """What to simulate: how many orders, where, and how untidy the floor is."""

    orders: int = 1000
    warehouses: tuple[str, ...] = WAREHOUSE_CODES
    workers: int = 2
    scanners: int = 16
    duplicate_share: float = 0.03
    unknown_share: float = 0.01
    wrong_warehouse_share: float = 0.01
    review_rate: float = 0.03
    inspection_rate: float = 0.01
    hold_rate: float = 0.2
    # 2% of first filings refused by the simulator's spot checks (phone not the payer's,
    # address without a house number), corrected by auto-fix from the free-text reason.
    reject_rate: float = 0.02
    # A CEB622 message carries many InventoryReturn; customs batches what is due together.
    receipts_per_file: int = 50
    seed: int = 1111
    timeout_s: float = 1800.0
    run: str = field(default_factory=lambda: f"S{int(time.time()) % 100000:05d}")


@dataclass
class Timings:
    """Wall-clock marks of the phases and the latency of every inbound scan."""

    marks: dict[str, float] = field(default_factory=dict)
    scan_latencies: list[float] = field(default_factory=list)
    labels_printed: int = 0
    gated: int = 0
    resubmitted: int = 0

    def mark(self, name: str) -> None:
        self.marks[name] = time.monotonic()


def _orders(plan: Plan) -> Iterator[list[Any]]:
    """The wave in intake batches; parcels are spread over the warehouses in turn."""
    rng = random.Random(plan.seed)
    for start in range(0, plan.orders, INTAKE_BATCH):
        stop = min(plan.orders, start + INTAKE_BATCH)
        yield [
            demo_order(rng, i, plan.warehouses[i % len(plan.warehouses)], plan.run)
            for i in range(start, stop)
        ]


def intake_all(plan: Plan) -> list[tuple[str, str]]:
    """Take every order in batches; returns (warehouse, tracking number) of each parcel."""
    parcels: list[tuple[str, str]] = []
    for batch in _orders(plan):
        with session_scope() as session:
            take_all(session, batch, SYSTEM)
        parcels += [(o.warehouse, o.tracking_no) for o in batch]
    return parcels


def scan_plan(plan: Plan, parcels: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every parcel scanned at home, with wrong-warehouse reads, unknown codes and re-scans."""
    rng = random.Random(plan.seed + 1)
    reads: list[tuple[str, str]] = []
    for index, (home, code) in enumerate(parcels):
        if rng.random() < plan.wrong_warehouse_share and len(plan.warehouses) > 1:
            reads.append((rng.choice([w for w in plan.warehouses if w != home]), code))
        reads.append((home, code))
        if rng.random() < plan.duplicate_share:
            reads.append((home, code))
        if rng.random() < plan.unknown_share:
            reads.append((home, f"UNKNOWN{plan.run}{index:08d}"))
    return reads


def _scan_share(
    reads: list[tuple[str, str]], station: str, latencies: list[float], deadline: float
) -> None:
    for warehouse, code in reads:
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        grouped_scan_blocking(ScanIn(warehouse=warehouse, station=station, code=code), DEMO_STAFF)
        latencies.append(time.perf_counter() - started)


def scan_all(plan: Plan, reads: list[tuple[str, str]], timings: Timings) -> None:
    """`plan.scanners` stations read the parcels in turn; as on the server (POST /scans), the
    scans waiting at any moment share one transaction (warehouses/floor/writes.py)."""
    shares = [reads[i :: plan.scanners] for i in range(plan.scanners)]
    deadline = timings.marks["start"] + plan.timeout_s
    threads = [
        threading.Thread(
            target=_scan_share, args=(share, f"in-{i}", timings.scan_latencies, deadline)
        )
        for i, share in enumerate(shares)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _released_orders(first_order_id: int) -> list[Order]:
    with session_scope() as session:
        # Driven by the indexed case state, so the query stays small as the run grows.
        query = (
            select(Order)
            .join(ClearanceCase, col(ClearanceCase.order_id) == col(Order.id))
            .join(Parcel, col(Parcel.id) == col(ClearanceCase.parcel_id))
            .where(col(ClearanceCase.state) == "released", col(Order.id) >= first_order_id)
            .where(col(Parcel.floor_state) != "shipped")
            .order_by(col(Order.id))
            .limit(GATE_BATCH)
        )
        return list(session.scalars(query))


def label_and_gate(first_order_id: int, printer: SpoolPrinter, timings: Timings) -> int:
    """Print one ZPL job for the next released parcels, then scan each out at the gate."""
    orders = _released_orders(first_order_id)
    if not orders:
        return 0
    with session_scope() as session:
        batch = labels_for_orders(session, orders)
    # Thermal printers on the floor hold a CJK font, so ZPL refers to it instead of bitmaps.
    printer.send(render_zpl(batch, cjk="resident"), job_name=f"wave-{orders[0].id}")
    timings.labels_printed += len(batch)
    # The gate tunnel reads a wave's waybills and uploads them together (POST /scans/batch).
    reads = [
        ScanIn(
            warehouse=label.warehouse_code, station="gate-1", code=label.waybill_no, mode="gate_out"
        )
        for label in batch
    ]
    with session_scope() as session:
        timings.gated += sum(
            out.outcome == "shipped" for out in scan_many(session, reads, DEMO_STAFF)
        )
    return len(orders)


def corrected_value(order: Order, field_name: str) -> str | None:
    """What the simulation knows is right when customs names a field: the phone the buyer
    paid with, the address with its house number."""
    if field_name == "buyer_phone":
        return f"139{(order.id or 0) % 10**8:08d}"
    if field_name == "consignee_address":
        return f"{order.consignee_address[:190]}{(order.id or 0) % 200 + 1}号"
    return None


def fix_rejected(first_order_id: int, timings: Timings) -> int:
    """Correct and resubmit (appType 2) every rejected case of the run the simulation can fix."""
    with session_scope() as session:
        case_ids = [case.id for case in rejected_cases(session, first_order_id)]
    fixed = 0
    for case_id in case_ids:
        with session_scope() as session:
            case = session.get(ClearanceCase, case_id, with_for_update=True)
            if case is not None and case.state == "rejected":
                fixed += fix_and_resubmit(session, case, corrected_value, actor=FIXER)
    timings.resubmitted += fixed
    return fixed


def _customs_env(plan: Plan) -> dict[str, str]:
    """The simulator's review, inspection and hold rates, unless the caller set them."""
    rates = {
        "CLEARWAY_SIMULATOR_REVIEW_RATE": plan.review_rate,
        "CLEARWAY_SIMULATOR_INSPECTION_RATE": plan.inspection_rate,
        "CLEARWAY_SIMULATOR_HOLD_RATE": plan.hold_rate,
        "CLEARWAY_SIMULATOR_REJECT_RATE": plan.reject_rate,
        "CLEARWAY_SIMULATOR_RECEIPTS_PER_FILE": plan.receipts_per_file,
    }
    return {**{k: str(v) for k, v in rates.items()}, **os.environ}


class Helpers:
    """The worker processes and the customs simulator (or their embedded threads)."""

    def __init__(self, plan: Plan, memory: MemorySampler) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stops: list[Callable[[], None]] = []
        if get_settings().embedded_queue:
            self._embedded(plan)
        else:
            self._processes(plan, memory)

    def _processes(self, plan: Plan, memory: MemorySampler) -> None:
        base = [sys.executable, "-m", "cli"]
        for index in range(plan.workers):
            extra = ["--queues", ",".join(DRAIN_FIRST)]
            extra += ["--with-scheduler"] if index == 0 else []
            proc = subprocess.Popen([*base, "worker", *extra], cwd=ROOT)
            memory.watch(f"worker-{index + 1}", proc.pid)
            self.procs.append(proc)
        settings = get_settings()
        sim = [*base, "customs-sim", "--delay", str(settings.simulator_delay_s)]
        sim += ["--seed", str(settings.simulator_seed)]
        proc = subprocess.Popen(sim, cwd=ROOT, env=_customs_env(plan))
        memory.watch("customs-sim", proc.pid)
        self.procs.append(proc)

    def _embedded(self, plan: Plan) -> None:
        settings = get_settings()
        self.stops.append(EmbeddedWorker().start().stop)
        self.stops.append(ticker().start().stop)
        stop = threading.Event()
        sim = CustomsSimulator(
            settings.send_dir,
            settings.receive_dir,
            delay_s=settings.simulator_delay_s,
            seed=settings.simulator_seed,
            rates=Rates(plan.review_rate, plan.inspection_rate, plan.hold_rate, plan.reject_rate),
            receipts_per_file=plan.receipts_per_file,
        )
        threading.Thread(target=sim.run, args=(stop, 0.05), daemon=True).start()
        self.stops.append(stop.set)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()  # a worker that ignores SIGTERM must not outlive the demo
                proc.wait(5)
        for stop in self.stops:
            stop()


def gate_loop(
    plan: Plan, marks: Marks, timings: Timings, scanned: threading.Event, say: Callable[[str], None]
) -> None:
    """Label and gate released parcels until scanning is over and nothing moves, or timeout."""
    printer = SpoolPrinter(get_settings().data_dir / "spool")
    deadline = timings.marks["start"] + plan.timeout_s
    last_said = 0.0
    while time.monotonic() < deadline:
        done = label_and_gate(marks.first_order_id, printer, timings)
        done += fix_rejected(marks.first_order_id, timings)
        due = time.monotonic() - last_said > 5  # progress every 5 s, busy or not
        if done and not due:
            continue
        moving = open_work(marks)
        if due:
            last_said = time.monotonic()
            say(f"moving {moving}, labelled and gated {timings.gated}")
        if done:
            continue
        if scanned.is_set() and moving == 0:
            return
        time.sleep(0.5)


def _marks() -> Marks:
    with session_scope() as session:
        return Marks(
            first_order_id=(session.scalar(select(func.max(col(Order.id)))) or 0) + 1,
            first_scan_id=(session.scalar(select(func.max(col(Scan.id)))) or 0) + 1,
            first_event_id=(session.scalar(select(func.max(col(Event.id)))) or 0) + 1,
        )


def simulate(plan: Plan, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the whole wave and return the report (see `eleven_report.build_report`)."""
    upgrade()
    wire()
    with session_scope() as session:
        seed_reference(session)
    marks, timings = _marks(), Timings()
    memory = MemorySampler()
    memory.watch("demo", os.getpid())
    helpers = Helpers(plan, memory)
    memory.start()
    try:
        _phases(plan, marks, timings, progress)
    finally:
        helpers.stop()
        memory.stop()
    return build_report(plan, marks, timings, memory.summary())


def _phases(plan: Plan, marks: Marks, timings: Timings, say: Callable[[str], None]) -> None:
    timings.mark("start")
    parcels = intake_all(plan)
    timings.mark("intake_done")
    say(f"{len(parcels)} orders taken in")
    scanned = threading.Event()
    gate = threading.Thread(target=gate_loop, args=(plan, marks, timings, scanned, say))
    gate.start()
    reads = scan_plan(plan, parcels)
    scan_all(plan, reads, timings)
    timings.mark("scans_done")
    scanned.set()
    say(f"{len(reads)} scans read")
    gate.join()
    timings.mark("end")


def run_demo(
    orders: int, warehouses: str, workers: int, scanners: int, timeout_s: float, as_json: bool
) -> dict[str, Any]:
    """`clearway demo`: run the wave and print its report (tables, or JSON with `as_json`)."""
    console = Console(stderr=as_json)
    codes = (
        WAREHOUSE_CODES
        if warehouses == "all"
        else tuple(code.strip().upper() for code in warehouses.split(",") if code.strip())
    )
    plan = Plan(
        orders=orders, warehouses=codes, workers=workers, scanners=scanners, timeout_s=timeout_s
    )
    report = simulate(plan, progress=lambda line: console.print(f"[dim]{line}[/]"))
    if as_json:
        print(json.dumps(report, default=str))
    else:
        render(report, console)
    return report
