"""The built-in customs simulator: takes every file from the send folder, checks it with the XSDs
and customs' own business checks (三单对碰, limits, identity), and answers in the receive folder
with the receipts customs sends: CEB900 for schema failures, 100 with a reason for business
failures, otherwise 2 → 120 → (300 | 500 sometimes) → 399 → 800; CEB624/626 for cancels/returns."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from lxml import etree

from clearance.gateway.folder import atomic_write
from clearance.pipeline import documents
from clearance.pipeline.config import pipeline_settings
from clearance.simulator.register import CustomsRegister, Filed, buyer_year
from clearance.simulator.wording import refusal_text
from declarations import envelope
from declarations.codecheck import order_code_problems
from declarations.consistency import order_amount_problems
from declarations.fmt import CHINA_TZ, return_time
from declarations.model import (
    Cancel623,
    Document,
    Inventory,
    Order311,
    Payment411,
    Refund625,
    Waybill511,
)
from declarations.preflight import blocking, business_problems, paid_by
from declarations.read import read_document
from declarations.receipts import Receipt, build_receipts
from declarations.rules import Problem, id_problem
from declarations.validate import validate
from kit.errors import DomainError
from kit.settings import Settings
from kit.xmlsafe import parse_untrusted

log = logging.getLogger(__name__)
Step = tuple[int, str]
DECLARED = (2, "新增申报成功")
ACCEPTED = (120, "[Code:1800;Desc:逻辑校验通过]")
REVIEW = (300, "人工审核")
INSPECTION = (500, "查验")
CONCLUDED = (399, "[Code:2000;Desc:审结]")
RELEASED = (800, "[Code:2600;Desc:放行]")
HOLDS = ((501, "扣留移送通关"), (502, "扣留移送缉私"), (503, "扣留移送法规"), (599, "其它扣留"))
# A CEB900 carries no documented status; a negative one is a processing exception (§3.2) [U].
SCHEMA_FAILURE = -1
REPLY_TYPES = {
    Order311: "CEB312",
    Payment411: "CEB412",
    Waybill511: "CEB512",
    Inventory: "CEB622",
    Cancel623: "CEB624",
    Refund625: "CEB626",
}
CONCLUDED_STATUSES = frozenset({399, 800, 899, 501, 502, 503, 599, 700})
# What customs' spot checks find wrong in a first filing, as (CEB621 field, inventory attribute,
# reason): a buyer phone that is not the payer's registered one, an address without a house
# number. The reason is free text (clearance.simulator.wording), as customs writes it.
SPOT_CHECKS = (
    ("buyerTelephone", "buyer_telephone", "订购人电话与支付人登记电话不符"),
    ("consigneeAddress", "consignee_address", "收货地址不详，缺少门牌号"),
)


@dataclass(frozen=True)
class Rates:
    """How often an accepted inventory goes to manual review (300), inspection (500), or is held
    after inspection (501–503/599, never released), and how often a first filing is refused by a
    spot check (100). All 0 in the embedded default; the 11.11 demo (bench.eleven.Plan) runs with
    review 3%, inspection 1%, hold 20% of inspections and reject 2%, so some declarations come
    back 100 for a reason a customs officer gives (see SPOT_CHECKS) besides every rule check."""

    review: float = 0.0
    inspection: float = 0.0
    hold: float = 0.0
    reject: float = 0.0  # first filings refused by a spot check naming a field (see SPOT_CHECKS)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    message_type: str = field(compare=False)
    receipt: Receipt = field(compare=False)
    reply_to: str | None = field(compare=False)


class CustomsSimulator:
    """Plays customs honestly over the folder exchange; deterministic for a given seed."""

    def __init__(
        self,
        send_dir: Path,
        receive_dir: Path,
        *,
        delay_s: float = 0.5,
        seed: int = 1210,
        require_documents: bool = False,
        rates: Rates = Rates(),
        receipts_per_file: int = 1,
        filed_elsewhere: Callable[[str], frozenset[str]] = lambda _: frozenset(),
    ) -> None:
        self.send_dir = send_dir
        self.receive_dir = receive_dir
        self.delay_s = delay_s
        self.random = random.Random(seed)
        self.require_documents = require_documents
        self.rates = rates
        self.receipts_per_file = max(1, receipts_per_file)
        # The simulator also plays the platform, payment company and carrier: the documents they
        # file (per warehouse, by logisticsCode) count as received.
        self.filed_elsewhere = filed_elsewhere
        self.orders: dict[str, Order311] = {}
        self.payments: dict[str, Payment411] = {}
        self.waybills: dict[tuple[str, str], Waybill511] = {}
        self.waybill_of_order: dict[str, Waybill511] = {}
        self.register = CustomsRegister()
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._serial = itertools.count(1)
        self._last_time: datetime | None = None
        self.spotted: dict[str, tuple[str, str, str, str]] = {}  # copNo → check, value refused

    @classmethod
    def from_settings(cls, settings: Settings) -> CustomsSimulator:
        """The simulator as CLEARWAY_SIMULATOR_* configure it, on the default gateway folders."""
        return cls(
            settings.send_dir,
            settings.receive_dir,
            delay_s=settings.simulator_delay_s,
            seed=settings.simulator_seed,
            require_documents=settings.simulator_require_documents,
            rates=Rates(
                settings.simulator_review_rate,
                settings.simulator_inspection_rate,
                settings.simulator_hold_rate,
                pipeline_settings().simulator_reject_rate,
            ),
            receipts_per_file=settings.simulator_receipts_per_file,
            filed_elsewhere=documents.filed_elsewhere,
        )

    def step(self) -> int:
        """Take every waiting message and emit every receipt now due; returns files handled."""
        return self._take_messages() + self._emit_due()

    @property
    def pending(self) -> int:
        return len(self._due)

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Loop until `stop` is set (the `customs-sim` command, or a thread in `serve`)."""
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:
                    log.exception("simulator step failed")
                stop.wait(poll_s)
        finally:
            self.register.close()  # removes the register's temporary file

    # -- intake ---------------------------------------------------------------------------

    def _take_messages(self) -> int:
        if not self.send_dir.exists():
            return 0
        names = sorted(
            e.name for e in os.scandir(self.send_dir) if e.is_file() and not e.name.startswith(".")
        )
        for name in names:
            path = self.send_dir / name
            data = path.read_bytes()
            path.unlink()  # the transfer client removes what it picked up
            self.receive(name, data)
        return len(names)

    def receive(self, name: str, data: bytes) -> None:
        """Answer one file as customs would."""
        try:
            root, reply_to = self._open(data)
        except DomainError as exc:
            log.warning("simulator: %s unreadable: %s", name, exc)
            self._schema_failure(_guid(), f"报文无法解析 {name}: {exc.message}", None)
            return
        findings = validate(root)
        if findings:
            info = "; ".join(f"{f.path}: {f.rule}" for f in findings[:5])
            self._schema_failure(root.get("guid") or _guid(), f"报文格式校验失败: {info}", reply_to)
            return
        try:
            doc = read_document(root)
        except DomainError as exc:
            self._schema_failure(root.get("guid") or _guid(), exc.message, reply_to)
            return
        self._answer(doc, reply_to)

    def _open(self, data: bytes) -> tuple[etree._Element, str | None]:
        root = parse_untrusted(data)
        if envelope.is_envelope(root):
            return envelope.unwrap(root), envelope.sender_of(root)
        return root, None

    def _schema_failure(self, guid: str, info: str, reply_to: str | None) -> None:
        self._schedule("CEB900", guid, {}, [(SCHEMA_FAILURE, info)], reply_to)

    def _answer(self, doc: Document, reply_to: str | None) -> None:
        if isinstance(doc, Inventory):
            self._inventory(doc, reply_to)
        elif isinstance(doc, Cancel623):
            self._cancel(doc, reply_to)
        elif isinstance(doc, Refund625):
            self._refund(doc, reply_to)
        else:
            self._document(doc, reply_to)

    # -- order, payment, waybill ----------------------------------------------------------

    def _document(self, doc: Order311 | Payment411 | Waybill511, reply_to: str | None) -> None:
        problems = self._document_problems(doc)
        keys = _document_keys(doc)
        if problems:
            refusal = _rejected(problems, _context_of(doc))
            self._schedule(REPLY_TYPES[type(doc)], doc.guid, keys, refusal, reply_to)
            return
        if isinstance(doc, Order311):
            self.orders[doc.order_no] = doc
        elif isinstance(doc, Payment411):
            self.payments[doc.order_no] = doc
        else:
            self.waybills[(doc.logistics_code, doc.logistics_no)] = doc
            self.waybill_of_order[doc.order_no] = doc
            self.register.hold(doc.logistics_code, doc.logistics_no, doc.order_no)
        self._schedule(REPLY_TYPES[type(doc)], doc.guid, keys, [DECLARED, ACCEPTED], reply_to)

    def _document_problems(self, doc: Order311 | Payment411 | Waybill511) -> list[Problem]:
        if isinstance(doc, Order311):
            problems = order_amount_problems(doc) + order_code_problems(doc)
            problems += [p for p in (id_problem(doc.buyer_id_number),) if p]
            return blocking(problems)
        if isinstance(doc, Payment411):
            return [p for p in (id_problem(doc.payer_id_number, "payerIdNumber"),) if p]
        return [p for p in (self._reused_waybill(doc),) if p]

    def _reused_waybill(self, doc: Inventory | Waybill511) -> Problem | None:
        """A waybill number already declared for another order (unique per carrier, §5.3)."""
        holder = self.register.holder(doc.logistics_code, doc.logistics_no)
        if holder is None or holder == doc.order_no:
            return None
        why = f"logisticsNo {doc.logistics_no} was declared for order {holder}"
        zh = "物流运单编号已被其他订单使用"
        return Problem("logistics_no_reused", "logisticsNo", why, zh, doc.logistics_no)

    # -- inventory ------------------------------------------------------------------------

    def _inventory(self, inv: Inventory, reply_to: str | None) -> None:
        filed = self.register.get(inv.cop_no)
        refusal = _filing_refusal(inv, filed)
        pre_no = filed.pre_no if filed else self._pre_no()
        invt_no = filed.invt_no if filed else self._invt_no(inv.customs_code)
        keys = _inventory_keys(inv, pre_no, invt_no)
        problems = [refusal] if refusal else blocking(self._inventory_problems(inv))
        problems = problems or self._spot_check(inv)
        if problems:
            if filed is None:
                self.register.put(Filed.of(inv, 100, pre_no, invt_no))
            steps = [DECLARED, *_rejected(problems, _context_of(inv))]
            self._schedule("CEB622", inv.guid, keys, steps, reply_to)
            return
        self.register.hold(inv.logistics_code, inv.logistics_no, inv.order_no)
        steps = self._release_path()
        self.register.put(Filed.of(inv, steps[-1][0], pre_no, invt_no))
        self._count(inv)
        self._retire_documents(inv)
        self._schedule("CEB622", inv.guid, keys, steps, reply_to)

    def _inventory_problems(self, inv: Inventory) -> list[Problem]:
        order = self.orders.get(inv.order_no)
        waybill = self.waybills.get((inv.logistics_code, inv.logistics_no))
        waybill = waybill or self.waybill_of_order.get(inv.order_no)  # then named as a mismatch
        problems = business_problems(
            inv,
            order=order,
            payment=self.payments.get(inv.order_no),
            waybill=waybill,
            spent_this_year=self._spent(inv),
            require_documents=self.require_documents,
        )
        elsewhere = self.filed_elsewhere(inv.logistics_code)
        kept = [p for p in problems if p.code != "missing_document" or p.field not in elsewhere]
        return kept + [p for p in (self._reused_waybill(inv),) if p]

    def _spot_check(self, inv: Inventory) -> list[Problem]:
        """A share of first filings is refused naming one field; a change (appType 2) passes
        only once that field differs from the value refused."""
        if inv.app_type == "1" and self.random.random() < self.rates.reject:
            field, attribute, zh = self.random.choice(SPOT_CHECKS)
            self.spotted[inv.cop_no] = (field, attribute, zh, getattr(inv, attribute))
        spotted = self.spotted.get(inv.cop_no)
        if spotted is None:
            return []
        field, attribute, zh, refused = spotted
        if getattr(inv, attribute) != refused:
            del self.spotted[inv.cop_no]
            return []
        return [Problem("spot_check", field, "customs' spot check refused it", zh, refused)]

    def _release_path(self) -> list[Step]:
        steps: list[Step] = [DECLARED, ACCEPTED]
        if self.random.random() < self.rates.review:
            steps.append(REVIEW)
        if self.random.random() < self.rates.inspection:
            steps.append(INSPECTION)
            if self.random.random() < self.rates.hold:
                return [*steps, self.random.choice(HOLDS)]
        return [*steps, CONCLUDED, RELEASED]

    def _spent(self, inv: Inventory) -> Decimal:
        """The buyer's calendar-year total on file, this copNo left out (it may be a change)."""
        return self.register.spent(buyer_year(inv), leaving_out=inv.cop_no)

    def _count(self, inv: Inventory) -> None:
        paid = paid_by(inv, self.orders.get(inv.order_no))
        self.register.count(buyer_year(inv), inv.cop_no, paid)

    def _retire_documents(self, inv: Inventory) -> None:
        """Every accepted filing ends concluded (released or held), and a concluded inventory can
        no longer be changed, so its order, payment and waybill are never consulted again."""
        self.orders.pop(inv.order_no, None)
        self.payments.pop(inv.order_no, None)
        self.waybills.pop((inv.logistics_code, inv.logistics_no), None)
        self.waybill_of_order.pop(inv.order_no, None)

    # -- cancel and return ----------------------------------------------------------------

    def _find(self, cop_no: str, invt_no: str) -> Filed | None:
        filed = self.register.get(cop_no)
        if filed is not None and filed.invt_no == invt_no:
            return filed
        return None

    def _cancel(self, cancel: Cancel623, reply_to: str | None) -> None:
        filed = self._find(cancel.cop_no, cancel.invt_no)
        keys = _request_keys(cancel, filed)
        if filed is None or filed.status == 100 or filed.withdrawn:
            reason = "清单已撤销" if filed and filed.withdrawn else "清单不存在或已退单"
            self._schedule("CEB624", cancel.guid, keys, [DECLARED, (100, reason)], reply_to)
            return
        filed.withdrawn = True
        self.register.put(filed)
        self.register.uncount(filed.buyer_year, filed.cop_no)
        self._schedule("CEB624", cancel.guid, keys, [DECLARED, ACCEPTED, CONCLUDED], reply_to)

    def _refund(self, refund: Refund625, reply_to: str | None) -> None:
        filed = self._find(refund.cop_no, refund.invt_no)
        keys = _request_keys(refund, filed)
        reason = _refund_refusal(refund, filed)
        if reason:
            self._schedule("CEB626", refund.guid, keys, [DECLARED, (100, reason)], reply_to)
            return
        assert filed is not None
        # GACC 2020 No.45: a return restores the buyer's annual total.
        left = self.register.paid(filed.buyer_year, filed.cop_no) - _returned_value(refund, filed)
        self.register.count(filed.buyer_year, filed.cop_no, max(Decimal(0), left))
        self._schedule("CEB626", refund.guid, keys, [DECLARED, ACCEPTED, CONCLUDED], reply_to)

    # -- numbering and emission -----------------------------------------------------------

    def _pre_no(self) -> str:
        return f"B{datetime.now(CHINA_TZ):%Y%m%d}{next(self._serial):09d}"

    def _invt_no(self, customs_code: str) -> str:
        return f"{customs_code}{datetime.now(CHINA_TZ):%Y}I{next(self._serial):09d}"

    def _schedule(
        self,
        message_type: str,
        guid: str,
        keys: dict[str, str],
        steps: list[Step],
        reply_to: str | None,
    ) -> None:
        start = time.monotonic()
        for index, (status, info) in enumerate(steps):
            at = start + self.delay_s * (index + self.random.uniform(0.5, 1.0))
            shown = (
                keys if status not in (2, 100) else {k: v for k, v in keys.items() if k != "invtNo"}
            )
            receipt = Receipt(message_type, guid, status, "", info[:1000], dict(shown))
            heapq.heappush(self._due, _Due(at, next(self._seq), message_type, receipt, reply_to))

    def _stamp(self) -> str:
        """A 17-digit returnTime, strictly later than the previous one (one clock for all)."""
        now = datetime.now(CHINA_TZ)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_time is not None and now <= self._last_time:
            now = self._last_time + timedelta(milliseconds=1)
        self._last_time = now
        return return_time(now)

    def _ready(self) -> list[_Due]:
        ready: list[_Due] = []
        while self._due and self._due[0].at <= time.monotonic():
            ready.append(heapq.heappop(self._due))
        return ready

    def _emit_due(self) -> int:
        """Write every receipt now due, grouped per receipt type and addressee into files."""
        groups: dict[tuple[str, str | None], list[Receipt]] = {}
        for due in self._ready():
            stamped = dataclasses.replace(due.receipt, return_time=self._stamp())
            groups.setdefault((due.message_type, due.reply_to), []).append(stamped)
        size, count = self.receipts_per_file, 0
        for (message_type, reply_to), receipts in groups.items():
            for start in range(0, len(receipts), size):
                self._write(message_type, receipts[start : start + size], reply_to)
                count += 1
        return count

    def _write(self, message_type: str, receipts: list[Receipt], reply_to: str | None) -> None:
        first = receipts[0]
        key = first.keys.get("copNo") or first.keys.get("orderNo") or first.keys.get("logisticsNo")
        name = f"{message_type}_{key or first.guid}_{receipts[-1].return_time}.xml"
        data = build_receipts(message_type, receipts, guid=_guid())
        if reply_to is not None:
            data = envelope.wrap(
                data, message_type=message_type, sender_id="DXPEDCCEB0000002", receiver_id=reply_to
            )
        # Its files need no fsync: a crashed simulator loses its in-memory filings anyway, and
        # the fsync per receipt was most of its CPU in the 11.11 simulation.
        atomic_write(self.receive_dir, name, data, durable=False)


def _rejected(problems: list[Problem], context: dict[str, str]) -> list[Step]:
    """One 100 receipt whose returnInfo says, in customs' free text, every failure found."""
    return [(100, refusal_text(problems, context))]


def _context_of(doc: Document) -> dict[str, str]:
    """What the refusal text names the declaration by: e-commerce enterprise and order."""
    return {
        "ebcCode": getattr(doc, "ebc_code", "") or "",
        "orderNo": getattr(doc, "order_no", "") or "",
    }


def _filing_refusal(inv: Inventory, filed: Filed | None) -> Problem | None:
    """Whether this copNo may be filed now: new once (again only after a 100), changed (appType
    2) only while customs has not concluded it; deletion goes through CEB623 instead."""
    if inv.app_type == "3":
        return Problem("delete", "appType", "use CEB623", "删除清单请使用撤销申请单", "3")
    if filed is None:
        if inv.app_type == "2":
            return Problem(
                "change_unknown", "copNo", "nothing to change", "变更的清单不存在", inv.cop_no
            )
        return None
    if inv.app_type == "1" and filed.status != 100:
        return Problem("duplicate", "copNo", "already declared", "清单重复申报", inv.cop_no)
    if filed.withdrawn or filed.status in CONCLUDED_STATUSES:
        return Problem("change_closed", "copNo", "concluded", "清单已审结，不能变更", inv.cop_no)
    return None


def _refund_refusal(refund: Refund625, filed: Filed | None) -> str:
    if filed is None:
        return "清单不存在"
    if filed.status != 800 or filed.withdrawn:
        return "清单未放行或已撤销，不能申请退货"
    for line in refund.lines:
        original = filed.lines.get(line.gnum)
        if original is None or line.qty > original.qty or line.gcode != original.gcode:
            return f"退货商品与清单不符: gnum {line.gnum}"
    return ""


def _returned_value(refund: Refund625, filed: Filed) -> Decimal:
    return sum((filed.lines[line.gnum].price * line.qty for line in refund.lines), Decimal(0))


def _inventory_keys(inv: Inventory, pre_no: str, invt_no: str) -> dict[str, str]:
    return {
        "customsCode": inv.customs_code,
        "ebpCode": inv.ebp_code,
        "ebcCode": inv.ebc_code,
        "agentCode": inv.agent_code,
        "copNo": inv.cop_no,
        "preNo": pre_no,
        "invtNo": invt_no,
    }


def _request_keys(request: Cancel623 | Refund625, filed: Filed | None) -> dict[str, str]:
    keys = {
        "customsCode": request.customs_code,
        "ebpCode": request.ebp_code,
        "ebcCode": request.ebc_code,
        "agentCode": request.agent_code,
        "copNo": request.cop_no,
        "invtNo": request.invt_no,
    }
    if filed is not None:
        keys["preNo"] = filed.pre_no
    return keys


def _document_keys(doc: Order311 | Payment411 | Waybill511) -> dict[str, str]:
    if isinstance(doc, Order311):
        return {"ebpCode": doc.ebp_code, "ebcCode": doc.ebc_code, "orderNo": doc.order_no}
    if isinstance(doc, Payment411):
        return {
            "payCode": doc.pay_code,
            "payTransactionId": doc.pay_transaction_id,
            "orderNo": doc.order_no,
        }
    return {"logisticsCode": doc.logistics_code, "logisticsNo": doc.logistics_no}


def _guid() -> str:
    return str(uuid.uuid4()).upper()
