"""Printer URLs reach only the warehouse's printers: LAN networks and ports, bounded timeouts
and retries, CUPS queues by name, spool folders inside the data directory."""

from __future__ import annotations

import pytest

from clearance.printing.targets import check_printer_url
from kit.errors import ValidationFailed
from kit.settings import get_settings
from tests.conftest import Stack


def _code_of(url: str) -> str:
    with pytest.raises(ValidationFailed) as refused:
        check_printer_url(url)
    return refused.value.issues[0].code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("tcp://8.8.8.8:9100", "printer_host_not_allowed"),
        ("tcp://169.254.169.254:9100", "printer_host_not_allowed"),
        ("tcp://10.0.0.21:22", "printer_port_not_allowed"),
        ("tcp://10.0.0.21:9100?timeout=600", "bad_printer_option"),
        ("tcp://10.0.0.21:9100?retries=50", "bad_printer_option"),
        ("tcp://10.0.0.21:9100?timeout=soon", "bad_printer_option"),
        ("tcp://no-such-printer.invalid:9100", "printer_host_unknown"),
        ("spool:///tmp/elsewhere", "spool_outside_data_dir"),
        ("cups://..%2Fetc", "bad_cups_queue"),
    ],
)
def test_a_printer_url_beyond_the_warehouse_is_refused(
    embedded: Stack, url: str, code: str
) -> None:
    assert _code_of(url) == code


def test_a_spool_path_that_climbs_out_of_the_data_directory_is_refused(embedded: Stack) -> None:
    inside = get_settings().data_dir / "spool" / ".." / ".." / "escaped"
    assert _code_of(f"spool://{inside.as_posix()}") == "spool_outside_data_dir"


@pytest.mark.parametrize(
    "url",
    [
        "tcp://10.0.0.21:9100",
        "tcp://192.168.1.40:6101?timeout=10&retries=3",
        "tcp://127.0.0.1:9100",
        "cups://zebra_dock-1",
    ],
)
def test_a_lan_printer_is_accepted(embedded: Stack, url: str) -> None:
    check_printer_url(url)


def test_a_spool_folder_inside_the_data_directory_is_accepted(embedded: Stack) -> None:
    check_printer_url(f"spool://{(get_settings().data_dir / 'spool' / 'HZ').as_posix()}")


def test_the_allowed_ports_and_networks_are_settings(
    embedded: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARWAY_PRINTER_PORTS", "[9100, 4000]")
    monkeypatch.setenv("CLEARWAY_PRINTER_NETWORKS", '["203.0.113.0/24"]')
    get_settings.cache_clear()
    check_printer_url("tcp://203.0.113.7:4000")
    assert _code_of("tcp://10.0.0.21:9100") == "printer_host_not_allowed"
