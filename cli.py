"""The `clearway` command: serve, worker, db, seed-demo, customs-sim, demo, keys."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlmodel import col

from clearance.pipeline.cli import register as register_clearance
from clearance.pipeline.workers import run_worker
from clearance.simulator.customs import CustomsSimulator
from kit.auth import SYSTEM, ApiKey, Role, create_key, revoke_key
from kit.db import session_scope
from kit.errors import DomainError
from kit.identity_cli import demo_identities, users_app
from kit.migrate import upgrade
from kit.queue import QUEUE_NAMES
from kit.secret import InsecureSecret, check_production_secret
from kit.settings import get_settings
from warehouses.demo import MERCHANTS, demo_order, seed_reference
from warehouses.floor.demo_floor import run_floor
from warehouses.intake.cli import import_orders_command
from warehouses.intake.service import create_order
from warehouses.models import Merchant
from warehouses.profiles import WAREHOUSE_CODES

app = typer.Typer(help="Clearway: customs clearance for cross-border e-commerce imports.")
db_app = typer.Typer(help="Database schema.")
keys_app = typer.Typer(help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
register_clearance(app)
app.command("import-orders")(import_orders_command)
console = Console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    upgrade()
    console.print(f"[green]schema up to date[/] at {get_settings().database_url}")


def _refuse_weak_secret() -> None:
    """Before touching the database: a production start with a guessable key stops here."""
    try:
        check_production_secret(get_settings())
    except InsecureSecret as error:
        console.print(f"[red]refusing to start:[/] {error}")
        raise typer.Exit(code=2) from error


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    demo_floor: Annotated[bool, typer.Option(help="Scan demo parcels as staff would")] = False,
) -> None:
    """Migrate, then serve the API and pages (with the embedded worker when REDIS_URL is unset)."""
    import uvicorn

    from app import create_app

    _refuse_weak_secret()
    upgrade()
    stop = threading.Event()
    if demo_floor:
        threading.Thread(target=run_floor, args=(stop,), daemon=True).start()
    console.print(f"Clearway on [bold]http://{host}:{port}[/]  (API docs at /docs)")
    # Forwarded headers are read by the app itself, from the proxies in CLEARWAY_TRUSTED_PROXIES.
    app = create_app(background=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    stop.set()


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queue names")] = ",".join(
        QUEUE_NAMES
    ),
    with_scheduler: Annotated[
        bool, typer.Option(help="Also fire periodic jobs and put due retries back on their queues")
    ] = False,
    burst: bool = False,
    fork: Annotated[bool, typer.Option(help="Run each job in a forked child")] = False,
) -> None:
    """Run an rq worker against REDIS_URL (any number, on any machine)."""
    if get_settings().embedded_queue:
        raise typer.BadParameter("set CLEARWAY_REDIS_URL; the embedded queue lives inside serve")
    names = [name.strip() for name in queues.split(",") if name.strip()]
    run_worker(names, with_scheduler=with_scheduler, burst=burst, fork=fork)


@app.command("customs-sim")
def customs_sim(delay: float = 0.5, seed: int = 1210) -> None:
    """Run the customs simulator on the gateway folders until interrupted."""
    settings = get_settings()
    overrides = {"simulator_delay_s": delay, "simulator_seed": seed}
    sim = CustomsSimulator.from_settings(settings.model_copy(update=overrides))
    console.print(f"customs simulator: {settings.send_dir} → {settings.receive_dir}")
    try:
        sim.run(threading.Event())
    except KeyboardInterrupt:
        console.print("stopped")


def _create_orders(count: int, warehouses: list[str], run: str, seed: int) -> int:
    rng = random.Random(seed)
    made = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("orders", total=count)
        for index in range(count):
            data = demo_order(rng, index, warehouses[index % len(warehouses)], run)
            try:
                with session_scope() as session:
                    create_order(session, data, SYSTEM)
                made += 1
            except DomainError as exc:
                console.print(f"[yellow]order {data.order_no} refused:[/] {exc}")
            progress.advance(task)
    return made


@app.command("seed-demo")
def seed_demo(orders: int = 50, seed: int = 11) -> None:
    """Load warehouses, pavilion merchants, SKUs, demo API keys and `orders` orders."""
    upgrade()
    with session_scope() as session:
        seed_reference(session)
    run = f"D{int(time.time()) % 100000:05d}"
    made = _create_orders(orders, list(WAREHOUSE_CODES), run, seed)
    path = _demo_keys()
    console.print(
        f"[green]{made} demo orders[/] in {len(WAREHOUSE_CODES)} warehouses; "
        f"API keys written to {path}"
    )


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (0600), also when it existed with looser rights."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _demo_keys() -> Path:
    path = get_settings().data_dir / "demo-keys.txt"
    with session_scope() as session:
        _, admin = create_key(session, label="demo-admin", role=Role.admin)
        _, staff = create_key(
            session, label="demo-staff-HZ", role=Role.staff, warehouse_codes=("HZ",)
        )
        first = select(Merchant).where(col(Merchant.code) == MERCHANTS[0][0])
        merchant = session.scalars(first).one()
    extra = demo_identities(merchant.id or 0, merchant.code)
    lines = [f"admin {admin}", f"staff-HZ {staff}", *(f"{name} {value}" for name, value in extra)]
    write_private(path, "\n".join(lines) + "\n")
    console.print("Demo keys and page logins (also in the file):", *lines, sep="\n  ")
    return path


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="How many orders to run through")] = 20,
    warehouses: Annotated[str, typer.Option(help="'all' or codes, e.g. HZ,NB")] = "all",
    workers: Annotated[int, typer.Option(help="worker processes to start (with REDIS_URL)")] = 2,
    scanners: Annotated[int, typer.Option(help="scan stations reading in parallel")] = 16,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    timeout: float = 1800.0,
) -> None:
    """The 11.11 simulation: intake, scans, customs, labels and gate-out, with a timed report."""
    from bench.eleven import run_demo

    run_demo(orders, warehouses, workers, scanners, timeout, as_json)


@app.command("bench")
def bench(
    parts: Annotated[list[str] | None, typer.Argument(help="Parts to run (default: all)")] = None,
    repeat: Annotated[int, typer.Option(help="Runs per figure (median)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON")] = False,
) -> None:
    """Benchmarks: each stage beside its own floor (`make bench` runs every part)."""
    from bench.__main__ import main as run_bench

    run_bench([*(parts or []), "--repeat", str(repeat), *(["--json"] if as_json else [])])


@keys_app.command("create")
def keys_create(
    label: str,
    role: Role,
    merchant_id: int | None = None,
    warehouse: Annotated[list[str] | None, typer.Option(help="Warehouse code(s)")] = None,
) -> None:
    """Create an API key; the secret is shown once."""
    with session_scope() as session:
        key, raw = create_key(
            session,
            label=label,
            role=role,
            merchant_id=merchant_id,
            warehouse_codes=tuple(warehouse or ()),
        )
    console.print(f"key {key.id} ({role.value}): [bold]{raw}[/]  — store it now; it is not kept")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    table = Table("id", "label", "role", "merchant", "warehouses", "last used", "revoked")
    with session_scope() as session:
        for key in session.scalars(select(ApiKey).order_by(col(ApiKey.id))):
            table.add_row(
                str(key.id),
                key.label,
                key.role,
                str(key.merchant_id or ""),
                key.warehouse_codes,
                str(key.last_used_at or ""),
                str(key.revoked_at or ""),
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key at once."""
    with session_scope() as session:
        revoke_key(session, key_id)
    console.print(f"key {key_id} revoked")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
