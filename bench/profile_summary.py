"""Condenses a `py-spy record --subprocesses --format raw` file into a small text profile: per
process, the share of samples spent inside each of Clearway's own functions (inclusive).

    py-spy record --subprocesses --format raw -o prof.txt -- python -m cli demo --orders 2000
    python -m bench.profile_summary prof.txt > docs/profiles/eleven-2000.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable

OWN_CODE = re.compile(r"\((clearance|kit|declarations|warehouses|labels|bench)/")
ROLE = re.compile(r"cli (worker --with-scheduler|worker|customs-sim|demo)")


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    frames = stack.split(";")
    if len(frames) > 1 and frames[1].startswith("process "):
        frames = frames[1:]  # children appear under their parent's process frame
    return frames, int(count)


def _tidy(frame: str) -> str:
    frame = re.sub(r" \(/[^ ]*?/(site-packages|main)/", " (", frame)
    return re.sub(r":\d+\)$", ")", frame)


# Frames only one kind of process runs: py-spy names a process by its command line, which it
# sometimes reads empty or from the parent, so a process is named by what it runs instead.
MARKERS = (
    ("CustomsSimulator.run", "customs-sim"),
    ("clearance/pipeline/workers.py", "worker"),
    ("bench/eleven.py", "demo"),
)


def _process(frames: list[str]) -> str:
    return frames[0].split(":", 1)[0]


def _roles(samples: list[tuple[list[str], int]]) -> dict[str, str]:
    """Each process's role, from the first of its samples that shows one."""
    roles: dict[str, str] = {}
    for frames, _ in samples:
        joined = ";".join(frames)
        for marker, role in MARKERS:
            if marker in joined:
                roles.setdefault(_process(frames), role)
    return roles


def summarise(lines: Iterable[str]) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Samples per process role, and per role the samples inside each own-code function."""
    samples = [_frames(line) for line in lines if line.strip()]
    roles = _roles(samples)
    totals: Counter[str] = Counter()
    inside: dict[str, Counter[str]] = defaultdict(Counter)
    for frames, count in samples:
        found = ROLE.search(frames[0])
        role = roles.get(_process(frames)) or (found.group(1) if found else frames[0][:40])
        totals[role] += count
        for name in {_tidy(f) for f in frames[1:]}:
            if OWN_CODE.search(name):
                inside[role][name] += count
    return totals, inside


def render(totals: Counter[str], inside: dict[str, Counter[str]], top: int = 30) -> str:
    out = []
    for role, total in totals.most_common():
        out.append(f"== {role}: {total} samples")
        for name, count in inside[role].most_common(top):
            out.append(f"{count:8d} {100 * count / total:5.1f}%  {name}")
        out.append("")
    return "\n".join(out)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        print(render(*summarise(handle)))


if __name__ == "__main__":
    main(sys.argv[1])
