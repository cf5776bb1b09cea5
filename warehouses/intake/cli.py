"""`clearway import-orders FILE.csv`: the CSV intake from the shell, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kit.auth import SYSTEM
from kit.db import session_scope
from kit.migrate import upgrade
from kit.settings import get_settings
from warehouses.intake import bulk
from warehouses.schemas import BatchOut

console = Console()


def _run(candidates: list[bulk.Candidate], dry_run: bool, key: str | None) -> BatchOut:
    """Each chunk of orders commits on its own, so a long file shows progress as it lands."""
    with Progress(console=console, transient=True) as progress, session_scope() as session:
        task = progress.add_task("orders", total=len(candidates))
        return bulk.import_orders(
            session,
            candidates,
            SYSTEM,
            dry_run=dry_run,
            idempotency_key=key,
            progress=lambda _row: progress.advance(task),
            commit=session.commit,
        )


def _report(out: BatchOut) -> None:
    table = Table("rows", "order", "status", "field", "reason", title="refused orders")
    for row in out.results:
        for error in row.errors:
            rows = ",".join(str(n) for n in row.rows)
            table.add_row(rows, row.order_no or "", row.status, error["field"], error["message"])
    if out.refused:
        console.print(table)
    verb = "would be accepted" if out.dry_run else "accepted"
    console.print(f"[green]{out.accepted} {verb}[/], [red]{out.refused} refused[/]")


def import_orders_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(help="Check every order, store nothing")] = False,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Re-running with the same key creates no duplicates")
    ] = None,
) -> None:
    """Import orders from a CSV (one row per order line); reports every refused row."""
    upgrade()
    bulk.check_csv_size(file.stat().st_size)
    with file.open("rb") as binary:
        candidates = bulk.csv_candidates(bulk.csv_text(binary), get_settings().csv_max_rows)
    out = _run(candidates, dry_run, idempotency_key)
    _report(out)
    if out.refused:
        raise typer.Exit(code=1)
