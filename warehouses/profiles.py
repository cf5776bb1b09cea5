"""Loads the warehouses' customs profiles from TOML (defaults plus an optional override file)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from kit.settings import get_settings
from warehouses.models import Warehouse

DEFAULT_PROFILES = Path(__file__).parent / "profiles.toml"
WAREHOUSE_CODES = ("GZ", "ZZ", "HZ", "NB", "SH")


def load_profiles(override: Path | None = None) -> dict[str, dict[str, Any]]:
    """The default profiles with any per-field overrides from `override` laid on top."""
    profiles = tomllib.loads(DEFAULT_PROFILES.read_text(encoding="utf-8"))
    override = override or get_settings().warehouse_profiles
    if override:
        for code, fields in tomllib.loads(Path(override).read_text(encoding="utf-8")).items():
            profiles.setdefault(code, {}).update(fields)
            confirmed = set(fields) - {"unverified"}
            still = [f for f in profiles[code].get("unverified", []) if f not in confirmed]
            profiles[code]["unverified"] = fields.get("unverified", still)
    return profiles


def _as_row(code: str, profile: dict[str, Any]) -> dict[str, Any]:
    # `documents` (who files the three documents, what the CEB621 waits for) is read by the
    # pipeline from the profile itself, not stored on the warehouse row.
    row = {k: v for k, v in profile.items() if k not in ("unverified", "documents")}
    row["code"] = code
    row["unverified_fields"] = ",".join(profile.get("unverified", []))
    row["carrier"] = profile.get("carrier")  # dropped from the file: dropped from the row
    return row


def sync_warehouses(session: Session) -> list[Warehouse]:
    """Insert or update the warehouses table from the profiles; returns them by code order."""
    existing = {w.code: w for w in session.exec(select(Warehouse))}
    for code, profile in load_profiles().items():
        row = _as_row(code, profile)
        warehouse = existing.get(code) or Warehouse(**row)
        for key, value in row.items():
            setattr(warehouse, key, value)
        session.add(warehouse)
        existing[code] = warehouse
    session.flush()
    return [existing[code] for code in sorted(existing)]
