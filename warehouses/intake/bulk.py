"""Bulk intake (JSON batch or CSV): each order accepted or refused on its own, with a dry run.

Orders are judged in chunks by `intake_batch`: every rule runs before anything is written, so a
refused order leaves nothing behind while the good ones of its chunk are stored together.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pydantic import ValidationError
from sqlmodel import Session

from kit.auth import Principal
from kit.errors import FieldIssue, ValidationFailed
from warehouses.intake.batch import Item, Outcome, stored_key, take_orders
from warehouses.intake.rules import Ledger
from warehouses.schemas import BatchOut, OrderIn, RowResult

ORDER_COLUMNS = (
    "merchant",
    "warehouse",
    "order_no",
    "tracking_no",
    "waybill_no",
    "buyer_reg_no",
    "buyer_name",
    "buyer_id_number",
    "buyer_phone",
    "consignee_name",
    "consignee_phone",
    "consignee_address",
)
LINE_COLUMNS = ("sku", "qty", "price")
OPTIONAL_COLUMNS = (
    "freight",
    "insured_fee",
    "discount",
    "tax_total",
    "actural_paid",
    "pay_code",
    "pay_name",
    "pay_transaction_id",
)
MAX_CSV_BYTES = 10 * 1024 * 1024
READ_BLOCK = 64 * 1024
ERROR_COLUMNS = ("error_field", "error_code", "error_message")
CHUNK = 500  # orders per insert (and per transaction when the caller commits per chunk)


@dataclass
class Candidate:
    """One order as it came in, with the CSV rows it was read from (empty for JSON)."""

    index: int
    raw: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    issues: list[FieldIssue] = field(default_factory=list)
    source: list[dict[str, str]] = field(default_factory=list)  # the CSV rows, as read


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def pydantic_issues(error: ValidationError) -> list[FieldIssue]:
    return [FieldIssue(_field_path(e["loc"]), e["type"], e["msg"]) for e in error.errors()]


def _refused(candidate: Candidate, issues: list[FieldIssue]) -> RowResult:
    return RowResult(
        index=candidate.index,
        order_no=_text_or_none(candidate.raw.get("order_no")),
        rows=candidate.rows,
        status="refused",
        errors=[issue.as_dict() for issue in issues],
    )


def _text_or_none(value: object) -> str | None:
    """A refused row's order number as given, unless it was not text at all."""
    return value if isinstance(value, str) else None


def _answer(candidate: Candidate, outcome: Outcome) -> RowResult:
    if outcome.issues:
        return _refused(candidate, outcome.issues)
    return RowResult(
        index=candidate.index,
        order_no=outcome.order_no,
        rows=candidate.rows,
        status="replayed" if outcome.replayed else "accepted",
        order_id=outcome.order_id,
    )


def _item(candidate: Candidate, key: str | None) -> Item | RowResult:
    if candidate.issues:
        return _refused(candidate, candidate.issues)
    try:
        data = OrderIn.model_validate(candidate.raw)
    except ValidationError as error:
        return _refused(candidate, pydantic_issues(error))
    row_key = f"{key}#{candidate.index}" if key else None
    return Item(data, stored_key(data.merchant, row_key))


def _chunk(
    session: Session,
    chunk: list[Candidate],
    principal: Principal,
    ledger: Ledger,
    options: tuple[bool, str | None],
) -> list[RowResult]:
    dry_run, key = options
    prepared = [_item(candidate, key) for candidate in chunk]
    items = [p for p in prepared if isinstance(p, Item)]
    outcomes = iter(take_orders(session, items, principal, ledger=ledger, dry_run=dry_run))
    return [
        p if isinstance(p, RowResult) else _answer(c, next(outcomes))
        for c, p in zip(chunk, prepared, strict=True)
    ]


def _chunks(candidates: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    chunk: list[Candidate] = []
    for candidate in candidates:
        chunk.append(candidate)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_orders(
    session: Session,
    candidates: Iterable[Candidate],
    principal: Principal,
    *,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    progress: Callable[[RowResult], None] | None = None,
    commit: Callable[[], None] | None = None,
) -> BatchOut:
    """Take each order on its own merits, CHUNK orders at a time (one insert per table each),
    calling `commit` after each chunk; a dry run runs every check and stores nothing."""
    ledger = Ledger()  # later chunks see the earlier ones' orders even when nothing is stored
    results: list[RowResult] = []
    for chunk in _chunks(candidates, CHUNK):
        answers = _chunk(session, chunk, principal, ledger, (dry_run, idempotency_key))
        if commit is not None and not dry_run:
            commit()
        for answer in answers:
            if progress:
                progress(answer)
        results += answers
    accepted = sum(r.status != "refused" for r in results)
    refused = len(results) - accepted
    summary = refusal_summary(results)
    return BatchOut(
        dry_run=dry_run, accepted=accepted, refused=refused, refusals=summary, results=results
    )


def json_candidates(orders: list[dict[str, Any]]) -> list[Candidate]:
    return [Candidate(index=i, raw=raw) for i, raw in enumerate(orders)]


def check_csv_size(size: int | None) -> None:
    """Refused before a byte of it is parsed."""
    if size is not None and size > MAX_CSV_BYTES:
        raise ValidationFailed.one("file", "file_too_large", "CSV files are limited to 10 MB")


def csv_text(binary: IO[bytes]) -> IO[str]:
    """The file as text, read as it is parsed: UTF-8 (with or without Excel's BOM), else
    GB18030 as Chinese Excel saves it. One pass in blocks decides which, without holding it."""
    encoding = "utf-8-sig" if _is_utf8(binary) else "gb18030"
    binary.seek(0)
    return io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")


def _is_utf8(binary: IO[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = 0
    try:
        while block := binary.read(READ_BLOCK):
            read += len(block)
            check_csv_size(read)
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_header(header: list[str]) -> None:
    missing = [c for c in (*ORDER_COLUMNS, *LINE_COLUMNS) if c not in header]
    if missing:
        raise ValidationFailed.one(
            "file", "missing_columns", f"the CSV lacks column(s): {', '.join(missing)}"
        )


def _order_fields(row: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {name: row[name] for name in ORDER_COLUMNS[:5]}
    raw["buyer"] = {
        "reg_no": row["buyer_reg_no"],
        "name": row["buyer_name"],
        "id_number": row["buyer_id_number"],
        "phone": row["buyer_phone"],
    }
    raw["consignee"] = {
        "name": row["consignee_name"],
        "phone": row["consignee_phone"],
        "address": row["consignee_address"],
    }
    raw.update({n: row[n] for n in OPTIONAL_COLUMNS if not n.startswith("pay_") and row.get(n)})
    payment = {n[4:]: row[n] for n in OPTIONAL_COLUMNS if n.startswith("pay_") and row.get(n)}
    return {**raw, "payment": payment, "lines": []}


def csv_candidates(text: Iterable[str], max_rows: int) -> list[Candidate]:
    """One row per order line; rows sharing merchant and order_no make one order. Read a row at
    a time, and refused whole at the first row past `max_rows`."""
    try:
        return _candidates(csv.DictReader(text), max_rows)
    except csv.Error as error:
        message = f"the CSV cannot be read: {error}"
        raise ValidationFailed.one("file", "unreadable_csv", message) from error


def _too_many_rows(max_rows: int) -> ValidationFailed:
    message = f"a CSV import takes at most {max_rows} order lines: split the file"
    return ValidationFailed.one("file", "too_many_rows", message)


def _candidates(reader: csv.DictReader[str], max_rows: int) -> list[Candidate]:
    _check_header([name.strip() for name in reader.fieldnames or []])
    orders: dict[tuple[str, str], Candidate] = {}
    for number, raw_row in enumerate(reader, start=2):
        if number - 1 > max_rows:
            raise _too_many_rows(max_rows)
        # Cells beyond the header come under the key None, as a list: they name no column.
        as_read = {k: v or "" for k, v in raw_row.items() if isinstance(k, str)}
        row = {k.strip(): v.strip() for k, v in as_read.items()}
        key = (row["merchant"], row["order_no"])
        if key not in orders:
            orders[key] = Candidate(index=len(orders), raw=_order_fields(row))
        candidate = orders[key]
        candidate.rows.append(number)
        candidate.source.append(as_read)
        candidate.raw["lines"].append({name: row[name] for name in LINE_COLUMNS})
    return list(orders.values())


def refusal_summary(results: Iterable[RowResult]) -> dict[str, int]:
    """Refused orders by reason (an order refused for two reasons counts under both)."""
    counts: Counter[str] = Counter()
    for result in results:
        counts.update({error["code"] for error in result.errors})
    return dict(counts.most_common())


def refused_rows_csv(candidates: list[Candidate], results: list[RowResult]) -> str:
    """The refused orders' CSV rows as uploaded, each with why, to fix and upload again."""
    refused = [r for r in results if r.status == "refused"]
    header = list(candidates[0].source[0]) if candidates and candidates[0].source else []
    out = io.StringIO()
    writer = csv.DictWriter(out, [*header, *ERROR_COLUMNS], extrasaction="ignore")
    writer.writeheader()
    for result in refused:
        why = _why(result)
        writer.writerows({**row, **why} for row in candidates[result.index].source)
    return out.getvalue()


def _why(result: RowResult) -> dict[str, str]:
    errors = result.errors
    return {
        "error_field": "; ".join(e["field"] for e in errors),
        "error_code": "; ".join(e["code"] for e in errors),
        "error_message": "; ".join(e["message"] for e in errors),
    }
