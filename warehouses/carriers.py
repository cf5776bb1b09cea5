"""A warehouse's carrier settings (profiles.toml [CODE.carrier]), pure: the carrier's name and
its 三段码 sort codes by destination, as the label prints them (cbec-facts §7: routeCode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.errors import ValidationFailed


@dataclass(frozen=True)
class Carrier:
    """Who carries the parcels out of the warehouse, and how it sorts them."""

    name: str
    # Destination ("杭州 西湖区", or a city alone: "杭州") → the carrier's 三段码.
    sort_codes: dict[str, str] = field(default_factory=dict)

    def sort_code(self, destination: str | None) -> str | None:
        """The 三段码 of a destination (district first, then its city), or None."""
        if not destination:
            return None
        city = destination.split(" ", 1)[0]
        return self.sort_codes.get(destination) or self.sort_codes.get(city)


def carrier_of(settings: dict[str, Any] | None) -> Carrier | None:
    """The carrier a warehouse's settings describe, or None when it has none."""
    if not settings:
        return None
    name, codes = settings.get("name"), settings.get("sort_codes", {})
    unknown = set(settings) - {"name", "sort_codes"}
    if not isinstance(name, str) or not name.strip() or unknown or not isinstance(codes, dict):
        raise ValidationFailed.one(
            "carrier", "bad_carrier", "carrier settings are a name and a sort_codes table"
        )
    return Carrier(name.strip(), {str(k): str(v) for k, v in codes.items()})
