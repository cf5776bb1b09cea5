"""`python -m bench [part ...] [--repeat N] [--json]`: every stage beside its floor, one table."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from bench.harness import Row, markdown, rows_of, table

# part name → module with `run(repeat) -> {scenario: figures}`; order is the table's order.
PARTS = {
    "declarations": "bench.declarations_bench",
    "labels": "bench.labels_bench",
    "scans": "bench.scan_bench",
    "receipts": "bench.receipts_bench",
    "intake": "bench.intake_bench",
    "queue": "bench.queue_bench",
}
console = Console(stderr=True)


def available(part: str) -> bool:
    return importlib.util.find_spec(PARTS[part]) is not None


def run_part(part: str, repeat: int, scale: float) -> dict[str, Any]:
    """One part's results; `scale` shrinks the inputs of parts that accept it (tests)."""
    runner = importlib.import_module(PARTS[part]).run
    kwargs: dict[str, Any] = {"repeat": repeat}
    if "scale" in inspect.signature(runner).parameters:
        kwargs["scale"] = scale
    return dict(runner(**kwargs))


def run_parts(parts: Sequence[str], repeat: int, scale: float = 1.0) -> list[Row]:
    """Run the chosen parts in order; a part not written yet is skipped with a clear line."""
    rows: list[Row] = []
    for part in parts:
        if not available(part):
            console.print(f"[yellow]part {part} not available yet[/] ({PARTS[part]} missing)")
            continue
        console.print(f"[bold]{part}[/] …")
        started = time.perf_counter()
        try:
            rows += rows_of(part, run_part(part, repeat, scale))
        except Exception as exc:  # one broken part must not cost the others' figures
            console.print(f"[red]part {part} failed:[/] {type(exc).__name__}: {exc}")
            rows.append({"part": part, "scenario": "FAILED", "note": str(exc)[:200]})
            continue
        console.print(f"  {part} done in {time.perf_counter() - started:.1f} s")
    return rows


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("parts", nargs="*", choices=[*PARTS, []], metavar="part")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="input size factor")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    args = parse(argv)
    rows = run_parts(args.parts or list(PARTS), args.repeat, args.scale)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    elif args.markdown:
        print(markdown(rows))
    else:
        Console().print(table(rows))
    return rows


if __name__ == "__main__":
    # Every part runs even when one fails, but a failed part fails the command (`make bench`).
    sys.exit(1 if any(row.get("scenario") == "FAILED" for row in main()) else 0)
