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


def summarise(lines: Iterable[str]) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Samples per process role, and per role the samples inside each own-code function."""
    totals: Counter[str] = Counter()
    inside: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        if not line.strip():
            continue
        frames, count = _frames(line)
        found = ROLE.search(frames[0])
        role = found.group(1) if found else frames[0][:40]
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
