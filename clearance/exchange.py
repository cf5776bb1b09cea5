"""Which gateway this process talks to (the folder exchange, configured from settings)."""

from __future__ import annotations

from clearance.gateway.folder import FolderExchange
from kit.settings import get_settings


def gateway() -> FolderExchange:
    settings = get_settings()
    return FolderExchange(settings.send_dir, settings.receive_dir, settings.archive_dir)
