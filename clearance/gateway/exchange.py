"""Which gateway serves which warehouse: its own folders when configured, else the defaults."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from clearance.gateway.folder import FolderExchange
from clearance.gateway.models import GatewaySetting
from kit.outbox import utcnow
from kit.settings import get_settings
from warehouses.models import Warehouse


def gateway() -> FolderExchange:
    """The process-wide default folders (every warehouse without its own settings)."""
    settings = get_settings()
    return FolderExchange(settings.send_dir, settings.receive_dir, settings.archive_dir)


def _from_setting(setting: GatewaySetting, warehouse: Warehouse) -> FolderExchange:
    return FolderExchange(
        Path(setting.send_dir),
        Path(setting.receive_dir),
        get_settings().archive_dir / warehouse.code,
        envelope_sender=warehouse.dxp_id if setting.envelope else None,
        file_prefix=setting.file_prefix,
    )


def gateway_for(session: Session, warehouse_id: int) -> FolderExchange:
    """The gateway the warehouse's broker runs (its transfer client's folders)."""
    setting = session.get(GatewaySetting, warehouse_id)
    warehouse = session.get(Warehouse, warehouse_id)
    if setting is None or warehouse is None:
        return gateway()
    return _from_setting(setting, warehouse)


def receiving_gateways(session: Session) -> list[FolderExchange]:
    """Every distinct receive folder to poll: the default and each warehouse's own."""
    found = {str(gateway().receive_dir): gateway()}
    query = select(GatewaySetting, Warehouse).join(
        Warehouse,
        Warehouse.id == GatewaySetting.warehouse_id,  # type: ignore[arg-type]
    )
    for setting, warehouse in session.exec(query):
        found.setdefault(setting.receive_dir, _from_setting(setting, warehouse))
    return list(found.values())


def configure(
    session: Session,
    warehouse: Warehouse,
    *,
    send_dir: Path,
    receive_dir: Path,
    envelope: bool = False,
    file_prefix: str = "",
) -> GatewaySetting:
    """Set (or replace) the folders a warehouse's transfer client uses."""
    assert warehouse.id is not None
    setting = session.get(GatewaySetting, warehouse.id) or GatewaySetting(
        warehouse_id=warehouse.id, send_dir="", receive_dir=""
    )
    setting.send_dir, setting.receive_dir = str(send_dir), str(receive_dir)
    setting.envelope, setting.file_prefix, setting.updated_at = envelope, file_prefix, utcnow()
    session.add(setting)
    return setting
