"""`make soak`: the tests that once flaked, many times over, the churn and fault soaks, and the
whole suite three times, all with two busy loops eating the cores; ends on `N passed, N failed`.

Rounds are settings (SOAK_FLAKY_ROUNDS, SOAK_SUITE_ROUNDS) so a quick local check can run fewer;
the defaults are what issue 19 asks for (20 and 3).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAKY_ROUNDS = int(os.environ.get("SOAK_FLAKY_ROUNDS", "20"))
SUITE_ROUNDS = int(os.environ.get("SOAK_SUITE_ROUNDS", "3"))
BUSY_LOOPS = int(os.environ.get("SOAK_BUSY_LOOPS", "2"))
# The busy loops stop by themselves after this long even if this script is killed.
BUSY_LIMIT_S = int(os.environ.get("SOAK_BUSY_LIMIT_S", str(3 * 3600)))
FLAKY = [
    "tests/clearance/test_thin_path.py",
    "tests/clearance/test_broker_browser.py",
    "tests/clearance/test_label_preview_browser.py",
    "tests/clearance/test_tracking_browser.py",
    "tests/warehouses/test_scan_page_browser.py",
]
BUSY = (
    "import os, time\n"
    "parent, end = os.getppid(), time.monotonic() + {limit}\n"
    "while time.monotonic() < end and os.getppid() == parent:\n"
    "    for _ in range(200_000): pass\n"
)


@dataclass
class Tally:
    """Test outcomes summed over every pytest run of the soak."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    runs: int = 0
    failed_runs: int = 0

    def add(self, report: Path) -> tuple[int, int]:
        suite = ElementTree.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        self.passed += total - skipped - failed
        self.failed += failed
        self.skipped += skipped
        self.runs += 1
        self.failed_runs += bool(failed)
        return total - skipped - failed, failed


def _pytest(tally: Tally, label: str, args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        started = time.monotonic()
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        code = subprocess.call([*command, f"--junitxml={report}", *args], cwd=ROOT)
        if not report.exists():
            tally.failed += 1
            tally.failed_runs += 1
            print(f"soak {label}: pytest exited {code} without a report")
            return
        passed, failed = tally.add(report)
    print(f"soak {label}: {passed} passed, {failed} failed in {time.monotonic() - started:.0f} s")


def _busy_loops() -> list[subprocess.Popen[bytes]]:
    code = BUSY.format(limit=BUSY_LIMIT_S)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(BUSY_LOOPS)]


def main() -> int:
    loops = _busy_loops()
    tally = Tally()
    try:
        for round_no in range(1, FLAKY_ROUNDS + 1):
            _pytest(tally, f"flaky {round_no}/{FLAKY_ROUNDS}", ["-m", "not soak", *FLAKY])
        _pytest(tally, "churn and fault soaks", ["-m", "soak"])
        for round_no in range(1, SUITE_ROUNDS + 1):
            _pytest(tally, f"suite {round_no}/{SUITE_ROUNDS}", [])
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    print(f"soak: {tally.runs} pytest runs, {tally.failed_runs} with failures")
    print(f"{tally.passed} passed, {tally.failed} failed, {tally.skipped} skipped")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
