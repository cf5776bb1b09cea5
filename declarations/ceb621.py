"""Builds the CEB621 import inventory message (cbec-facts §2.7, §2.8)."""

from __future__ import annotations

from lxml import etree

from declarations.build import build, to_bytes
from declarations.model import DEFAULT_OPTIONS, Inventory, Options, Transfer

__all__ = ["build_ceb621", "to_bytes"]


def build_ceb621(
    inventory: Inventory, transfer: Transfer, options: Options = DEFAULT_OPTIONS
) -> etree._Element:
    """The CEB621Message tree for one inventory (InventoryHead + InventoryList, BaseTransfer)."""
    return build(inventory, transfer, options)
