"""The job's live money as whole units of 1e-10 USD: `jobs.spent_units`, `jobs.reserved_units`.

Integer arithmetic is exact in SQL on both databases (SQLite keeps NUMERIC as binary floating
point), so one conditional UPDATE reserves a call's worst case and one settles its bill
(store/_ledger.py). `total_cost` and `reserved_usd` stay, written from the units in the same
statements, for every reader of dollars.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("spent_units", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("reserved_units", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Both columns hold at most 10 decimal places: ×1e10 rounds to the exact integer (on
    # SQLite the float is within far less than half a unit of it for any budget allowed).
    op.execute(
        "UPDATE jobs SET spent_units = CAST(ROUND(total_cost * 10000000000) AS BIGINT),"
        " reserved_units = CAST(ROUND(reserved_usd * 10000000000) AS BIGINT)"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("reserved_units")
        batch.drop_column("spent_units")
