"""scans: a client scan id is unique per warehouse and station, not per station name alone

Station names repeat across warehouses (every floor has a `dock-1`), and counter-style client
scan ids from two of them collided: a GZ scan was answered with HZ's earlier verdict and its
parcel never received. The replay lookup and this constraint now include the warehouse.

Revision ID: 0011_scan_ids_per_warehouse
Revises: 0010_partial_stage_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_scan_ids_per_warehouse"
down_revision: str | None = "0010_partial_stage_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = "uq_scans_client_scan_id"
# The initial schema left the old constraint unnamed: PostgreSQL calls it by this name, and
# SQLite's copy of the table is given the same name by this convention to drop it by.
OLD = "scans_station_client_scan_id_key"
NAMING = {"uq": "%(table_name)s_%(column_0_name)s_%(column_1_name)s_key"}


def _swap(drop: str, drop_type: str, create: str, columns: list[str]) -> None:
    with op.batch_alter_table("scans", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(drop, type_=drop_type)
        batch_op.create_unique_constraint(create, columns)


def upgrade() -> None:
    _swap(OLD, "unique", NEW, ["warehouse_id", "station", "client_scan_id"])


def downgrade() -> None:
    _swap(NEW, "unique", OLD, ["station", "client_scan_id"])
