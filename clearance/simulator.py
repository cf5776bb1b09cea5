"""The built-in customs simulator: reads the send folder, checks each message with the XSD, and
answers in the receive folder with the receipt sequence customs sends (2 → 120 → 399 → 800)."""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from lxml import etree

from clearance.gateway.folder import atomic_write
from declarations.codes import CEB_NS
from declarations.fmt import return_time
from declarations.receipts import Receipt, build_ceb622
from declarations.validate import validate
from kit.xmlsafe import parse_untrusted

log = logging.getLogger(__name__)
RELEASE_PATH = (
    (2, "清单新增申报成功"),
    (120, "[Code:1800;Desc:逻辑校验通过]"),
    (399, "[Code:2000;Desc:审结]"),
    (800, "[Code:2600;Desc:放行]"),
)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    receipt: Receipt = field(compare=False)


class CustomsSimulator:
    """Plays customs honestly over the folder exchange; deterministic for a given seed."""

    def __init__(
        self, send_dir: Path, receive_dir: Path, *, delay_s: float = 0.5, seed: int = 1210
    ) -> None:
        self.send_dir = send_dir
        self.receive_dir = receive_dir
        self.delay_s = delay_s
        self.random = random.Random(seed)
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._serial = itertools.count(1)

    def step(self) -> int:
        """Take every waiting message and emit every receipt now due; returns files handled."""
        taken = self._take_messages()
        emitted = self._emit_due()
        return taken + emitted

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
            self._answer(name, data)
        return len(names)

    def _answer(self, name: str, data: bytes) -> None:
        try:
            root = parse_untrusted(data)
        except Exception as exc:
            log.warning("simulator: %s unreadable: %s", name, exc)
            return
        head = root.find(f".//{{{CEB_NS}}}InventoryHead")
        if head is None:
            log.info("simulator: %s is not an inventory; ignored", name)
            return
        findings = validate(root)
        keys = self._keys(head)
        guid = _text(head, "guid")
        if findings:
            info = f"报文校验失败 schema: {findings[0].path} {findings[0].rule}"
            self._schedule(guid, keys, [(100, info[:1000])])
        else:
            self._schedule(guid, keys, list(RELEASE_PATH))

    def _keys(self, head: etree._Element) -> dict[str, str]:
        names = ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo")
        keys = {n: _text(head, n) for n in names}
        today = datetime.now()
        serial = next(self._serial)
        keys["preNo"] = f"B{today:%Y%m%d}{serial:09d}"
        keys["invtNo"] = f"{keys['customsCode']}{today:%Y}I{serial:09d}"
        return keys

    def _schedule(self, guid: str, keys: dict[str, str], steps: list[tuple[int, str]]) -> None:
        start = datetime.now()
        for index, (status, info) in enumerate(steps, start=1):
            jitter = self.random.uniform(0.5, 1.5)
            at = time.monotonic() + self.delay_s * index * jitter
            stamp = return_time(start + timedelta(milliseconds=10 * index))
            shown = keys if status != 2 else {k: v for k, v in keys.items() if k != "invtNo"}
            receipt = Receipt("CEB622", guid, status, stamp, info, dict(shown))
            heapq.heappush(self._due, _Due(at, next(self._seq), receipt))

    def _emit_due(self) -> int:
        count = 0
        while self._due and self._due[0].at <= time.monotonic():
            receipt = heapq.heappop(self._due).receipt
            name = f"CEB622_{receipt.keys.get('copNo', 'X')}_{receipt.return_time}.xml"
            atomic_write(self.receive_dir, name, build_ceb622([receipt], guid=_guid()))
            count += 1
        return count

    @property
    def pending(self) -> int:
        return len(self._due)

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Loop until `stop` is set (the `customs-sim` command, or a thread in `serve`)."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("simulator step failed")
            stop.wait(poll_s)


def _text(head: etree._Element, name: str) -> str:
    element = head.find(f"{{{CEB_NS}}}{name}")
    return (element.text or "") if element is not None else ""


def _guid() -> str:
    return str(uuid.uuid4()).upper()
