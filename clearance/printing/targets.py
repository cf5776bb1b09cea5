"""Where a printer may point: a LAN printer on an allowed network and port, with bounded timeout
and retries; a CUPS queue by name; a spool folder inside the data directory (issue 20)."""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from kit.errors import ValidationFailed
from kit.settings import get_settings

# A job that has not reached the printer in 30 s is stuck; more than 5 retries only delays the
# broker's "printer unreachable" exception.
MAX_TIMEOUT_S = 30.0
MAX_RETRIES = 5
CUPS_QUEUE = re.compile(r"^[A-Za-z0-9_.-]{1,127}$")


def check_printer_url(url: str) -> None:
    """Refuse a printer URL that could reach beyond the warehouse's printers."""
    parts = urlsplit(url)
    if parts.scheme == "spool":
        _check_spool(unquote(parts.path))
    elif parts.scheme == "tcp":
        _check_tcp(parts)
    elif parts.scheme == "cups" and not CUPS_QUEUE.match(unquote(parts.netloc)):
        _refuse("bad_cups_queue", "a CUPS queue is named with letters, digits, '.', '_' or '-'")


def _refuse(code: str, message: str) -> None:
    raise ValidationFailed.one("url", code, message)


def _check_spool(folder: str) -> None:
    data_dir = get_settings().data_dir.resolve()
    if not Path(folder).resolve().is_relative_to(data_dir):
        _refuse("spool_outside_data_dir", f"a spool folder lies inside {data_dir}")


def _check_tcp(parts: SplitResult) -> None:
    settings = get_settings()
    if (parts.port or 9100) not in settings.printer_ports:
        shown = ", ".join(str(p) for p in sorted(settings.printer_ports))
        _refuse("printer_port_not_allowed", f"printers listen on port {shown} (PRINTER_PORTS)")
    _check_bounds(parse_qs(parts.query))
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.printer_networks]
    for address in _addresses(parts.hostname or ""):
        if not any(address in network for network in networks):
            _refuse("printer_host_not_allowed", f"{address} is outside PRINTER_NETWORKS")


def _check_bounds(query: dict[str, list[str]]) -> None:
    try:
        timeout = float(query.get("timeout", ["5"])[0])
        retries = int(query.get("retries", ["2"])[0])
    except ValueError:
        _refuse("bad_printer_option", "timeout is seconds and retries a whole number")
        return
    if not 0 < timeout <= MAX_TIMEOUT_S or not 0 <= retries <= MAX_RETRIES:
        _refuse(
            "bad_printer_option",
            f"timeout is at most {MAX_TIMEOUT_S:g} s and retries at most {MAX_RETRIES}",
        )


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        _refuse("printer_host_unknown", f"{host} does not resolve")
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
