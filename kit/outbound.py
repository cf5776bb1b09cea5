"""Outbound targets under the `outbound_loopback_only` setting: webhooks and printers reach only
this machine (loopback addresses, spool folders inside the data directory), so that tests and
fuzzing never send traffic off it, whatever URL they make up."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from kit.errors import ValidationFailed
from kit.settings import get_settings

LOOPBACK_ONLY = "this installation sends only to loopback addresses (outbound_loopback_only)"


def is_loopback_host(host: str) -> bool:
    """A loopback address literal or `localhost`; a name is never resolved here."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def check_host(field: str, host: str | None) -> None:
    """Refuse a target host that is not loopback while the setting is on (None: no host)."""
    if get_settings().outbound_loopback_only and not (host and is_loopback_host(host)):
        raise ValidationFailed.one(field, "loopback_only", LOOPBACK_ONLY)


def check_folder(field: str, folder: str) -> None:
    """Refuse a folder outside the data directory while the setting is on."""
    settings = get_settings()
    if not settings.outbound_loopback_only:
        return
    if not Path(folder).resolve().is_relative_to(settings.data_dir.resolve()):
        raise ValidationFailed.one(
            field, "loopback_only", f"{LOOPBACK_ONLY}: spool inside data_dir"
        )
