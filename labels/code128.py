"""Code 128 (subsets B and C) encoder producing bar positions in module units."""

from __future__ import annotations

import re

# ISO/IEC 15417 symbol patterns: widths of bar, space, bar, space, bar, space (stop has 7).
_PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 "
    "112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 "
    "311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 "
    "112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 "
    "313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 "
    "122411 142112 142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 "
    "124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141 114113 "
    "114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112"
).split()

CODE_C, CODE_B, START_B, START_C, STOP = 99, 100, 104, 105, 106
QUIET_MODULES = 10
_TOKENS = re.compile(r"[0-9]+|[^0-9]+")
Segment = tuple[str, str]  # ("B" | "C", text)


def _check(data: str) -> None:
    if not data or not data.isascii() or not data.isprintable():
        raise ValueError(f"Code 128 label barcodes take printable ASCII only, got {data!r}")


def _wants_c(run: str, first: bool, last: bool) -> bool:
    """Subset C pays off only for long enough digit runs (each switch costs a symbol)."""
    if first and last:
        return len(run) >= 2
    return len(run) >= (4 if first or last else 6)


def _digit_run(run: str, segments: list[Segment]) -> None:
    """Even digits go to subset C; an odd leading (mid-data) or trailing digit stays in B."""
    if len(run) % 2 and segments:
        segments.append(("B", run[0]))
        run = run[1:]
    tail = run[-1] if len(run) % 2 else ""
    segments.append(("C", run[: len(run) - len(tail)]))
    if tail:
        segments.append(("B", tail))


def segments(data: str) -> list[Segment]:
    """Subset plan for ``data``: consecutive same-subset segments are merged."""
    _check(data)
    out: list[Segment] = []
    tokens = _TOKENS.findall(data)
    for i, tok in enumerate(tokens):
        if tok[0].isdigit() and _wants_c(tok, i == 0, i == len(tokens) - 1):
            _digit_run(tok, out)
        else:
            out.append(("B", tok))
    return _merged(out)


def _merged(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for subset, text in segments:
        if out and out[-1][0] == subset:
            out[-1] = (subset, out[-1][1] + text)
        else:
            out.append((subset, text))
    return out


def width_modules(plan: list[Segment]) -> int:
    """Symbol width without quiet zones: 11 per symbol (start, data, switches, check) + 13 stop."""
    data = sum(len(t) if s == "B" else len(t) // 2 for s, t in plan)
    return 11 * (data + len(plan) + 1) + 13


def encode(data: str) -> list[int]:
    """Symbol values for ``data`` including start, checksum and stop."""
    vals: list[int] = []
    for subset, text in segments(data):
        if subset == "B":
            vals.append(CODE_B if vals else START_B)
            vals.extend(ord(ch) - 32 for ch in text)
        else:
            vals.append(CODE_C if vals else START_C)
            vals.extend(int(text[i : i + 2]) for i in range(0, len(text), 2))
    checksum = (vals[0] + sum(i * v for i, v in enumerate(vals[1:], 1))) % 103
    return [*vals, checksum, STOP]


def pattern(value: int) -> list[int]:
    """Element widths in modules for one symbol value, starting with a bar."""
    return [int(ch) for ch in _PATTERNS[value]]


def bars(data: str) -> tuple[list[tuple[int, int]], int]:
    """Bars as (x, width) in modules, and the symbol width without quiet zones."""
    out: list[tuple[int, int]] = []
    x = 0
    for value in encode(data):
        for i, w in enumerate(pattern(value)):
            if i % 2 == 0:
                out.append((x, w))
            x += w
    return out, x
