"""Plan review: a job may stop after planning for a person to review its plan and forecast
(`review`, `max_forecast_usd`), and a reviewed task may have its generating model pinned.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("max_forecast_usd", sa.Numeric(20, 10), nullable=True))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("pinned_model", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("pinned_model")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("max_forecast_usd")
        batch.drop_column("review")
