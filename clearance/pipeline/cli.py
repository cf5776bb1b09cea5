"""Operator commands of the pipeline: queue status, requeue failed jobs, replay receipts, sweep,
and each warehouse's gateway folders."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select
from sqlmodel import Session, col

from clearance.gateway.exchange import configure, gateway, gateway_for, receiving_gateways
from clearance.gateway.folder import FolderExchange
from clearance.gateway.models import GatewaySetting
from clearance.pipeline.config import pipeline_settings
from clearance.pipeline.jobs import ingest_batch
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from clearance.pipeline.sweep import release_claims, stuck_cases
from clearance.pipeline.wiring import wire
from kit import outbox
from kit import queue as jobs
from kit.db import session_scope
from kit.errors import NotFound
from warehouses.models import Warehouse

console = Console()
queue_app = typer.Typer(help="The job queues.")
gateway_app = typer.Typer(help="Each warehouse's customs gateway (transfer-client folders).")


def register(app: typer.Typer) -> None:
    """Add the pipeline's commands to the `clearway` command."""
    app.add_typer(queue_app, name="queue")
    app.add_typer(gateway_app, name="gateway")
    app.command("requeue-failed")(requeue_failed)
    app.command("replay-receipts")(replay_receipts)
    app.command("sweep")(sweep)


@queue_app.command("status")
def queue_status() -> None:
    """Jobs per queue (queued, running, failed, scheduled) and the pipeline's backlog."""
    table = Table("queue", "queued", "running", "failed", "scheduled", title="rq queues")
    for name in jobs.QUEUE_NAMES:
        queue = jobs.get_queue(name)
        counts = (
            queue.count,
            queue.started_job_registry.count,
            queue.failed_job_registry.count,
            queue.scheduled_job_registry.count,
        )
        table.add_row(name, *(str(c) for c in counts))
    console.print(table)
    console.print(_backlog())


def _backlog() -> Table:
    table = Table("what", "count", title="pipeline backlog (database and folders)")
    with session_scope() as session:
        transport = session.execute(
            select(col(CustomsMessage.transport_state), func.count()).group_by(
                col(CustomsMessage.transport_state)
            )
        )
        for state, count in transport.tuples():
            table.add_row(f"messages {state}", str(count))
        waiting = sum(len(g.waiting()) for g in receiving_gateways(session))
        table.add_row("receipt files waiting", str(waiting))
        table.add_row("cases stuck", str(len(stuck_cases(session))))
    return table


def requeue_failed(
    queue: Annotated[str | None, typer.Option(help="Only this queue")] = None,
) -> None:
    """Put every failed job back on its queue (jobs are idempotent)."""
    names = [queue] if queue else list(jobs.QUEUE_NAMES)
    registries = [jobs.get_queue(name).failed_job_registry for name in names]
    total = sum(r.count for r in registries)
    done = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("requeue", total=total)
        for registry in registries:
            for job_id in registry.get_job_ids():
                registry.requeue(job_id)
                done += 1
                progress.advance(task)
    console.print(f"[green]{done} failed jobs requeued[/]")


def _receipt_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.xml") if p.is_file())


def replay_receipts(
    directory: Path,
    warehouse: Annotated[str | None, typer.Option(help="Into this warehouse's folder")] = None,
) -> None:
    """Feed receipt files again (an archive, a lost batch): duplicates are recognised and kept
    once, older statuses never overwrite newer ones."""
    files = _receipt_files(directory)
    with session_scope() as session:
        exchange = _exchange_of(session, warehouse)
    exchange.receive_dir.mkdir(parents=True, exist_ok=True)
    totals: Counter[str] = Counter()
    limit = pipeline_settings().receipt_batch
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replay", total=len(files))
        for start in range(0, len(files), limit):
            for path in files[start : start + limit]:
                shutil.copyfile(path, exchange.receive_dir / path.name)
            ingest_batch(exchange, limit, totals, settle_s=0)  # copied whole, by us
            progress.advance(task, min(limit, len(files) - start))
        while ingest_batch(exchange, limit, totals, settle_s=0) >= limit:
            pass
    console.print(
        f"{len(files)} files replayed: " + ", ".join(f"{k} {v}" for k, v in totals.items())
    )


def _warehouse(session: Session, code: str) -> Warehouse:
    found = session.scalars(select(Warehouse).where(col(Warehouse.code) == code)).first()
    if found is None:
        raise NotFound("warehouse_not_found", f"no warehouse {code}", "warehouse")
    return found


def _exchange_of(session: Session, code: str | None) -> FolderExchange:
    if code is None:
        return gateway()
    warehouse = _warehouse(session, code)
    assert warehouse.id is not None
    return gateway_for(session, warehouse.id)


def sweep(
    claims_older_than: Annotated[
        float | None,
        typer.Option(help="Release claims whose claimer's heartbeat is older than this (s)"),
    ] = None,
) -> None:
    """Relay missed events and re-enqueue whatever the database says is overdue, now."""
    wire()
    with session_scope() as session:
        released = release_claims(session, claims_older_than)
    report = outbox.sweep()
    console.print(f"receipt claims released: {released}")
    for name, count in report.items():
        console.print(f"{name}: {count}")


@gateway_app.command("set")
def gateway_set(
    warehouse: str,
    send_dir: Path,
    receive_dir: Path,
    envelope: Annotated[bool, typer.Option(help="Wrap messages in DxpMsg")] = False,
    file_prefix: str = "",
) -> None:
    """Point a warehouse at its broker's transfer-client folders."""
    with session_scope() as session:
        configure(
            session,
            _warehouse(session, warehouse),
            send_dir=send_dir,
            receive_dir=receive_dir,
            envelope=envelope,
            file_prefix=file_prefix,
        )
    console.print(f"{warehouse}: send {send_dir}, receive {receive_dir}, envelope {envelope}")


@gateway_app.command("list")
def gateway_list() -> None:
    """Each warehouse's folders (the defaults where none are set)."""
    table = Table("warehouse", "send", "receive", "envelope", "cases")
    with session_scope() as session:
        for warehouse in session.scalars(select(Warehouse).order_by(col(Warehouse.code))):
            assert warehouse.id is not None
            exchange = gateway_for(session, warehouse.id)
            own = session.get(GatewaySetting, warehouse.id)
            cases = session.scalar(
                select(func.count()).where(col(ClearanceCase.warehouse_id) == warehouse.id)
            )
            table.add_row(
                warehouse.code,
                str(exchange.send_dir),
                str(exchange.receive_dir),
                "DxpMsg" if own and own.envelope else "-",
                str(cases or 0),
            )
    console.print(table)
    console.print(f"default folders: {gateway().send_dir} → {gateway().receive_dir}")
